"""The REST face of the live control plane: FastAPI app, request and response bodies, client."""
