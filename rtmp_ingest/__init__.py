"""The rtmp-ingest pod: nginx-rtmp's template, its Containerfile, and the callback sidecar."""
