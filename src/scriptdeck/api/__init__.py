"""The HTTP API (DRF) and the source's compatibility routes."""
