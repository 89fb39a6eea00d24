"""Bot profiles as the staff set them: /admin/bots (the answer policy's thresholds, service hours, who may chat)."""
