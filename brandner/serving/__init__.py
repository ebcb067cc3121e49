"""Serving over HTTP: the micro-batcher and request rules (no HTTP framework), the FastAPI app and its web page."""
