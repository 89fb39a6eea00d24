"""The audit log's API (/admin/audit) and command line (`kefu audit verify | export`)."""
