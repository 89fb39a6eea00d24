"""The HTTP pieces every part with routes shares: JSON errors and the request-context middleware
(`errors`), the Annotated dependency aliases (`deps`), id and text validators (`validators`), and the
instance's own endpoints (`health`: /healthz, /readyz, /metrics). channels/ and admin/ both build on it;
it knows nothing of either."""
