"""The HTTP side: the FastAPI app factory (``app``), health and metrics, the ``webhooks`` that
produce events for senders that cannot speak Kafka, and the ``graphql`` API for people."""
