"""The control plane's HTTP face: FastAPI under /api/v1, documented by OpenAPI."""
