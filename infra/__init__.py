"""Local services the project starts itself when none is configured: Apache Kafka (KRaft, from
the official jars) and PostgreSQL (from the server binaries on the machine)."""
