"""The HTTP side: FastAPI app factory, health and metrics, webhooks, GraphQL."""
