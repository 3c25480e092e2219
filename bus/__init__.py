"""The Kafka contract that every process shares: the topics (created explicitly), the producer
with delivery confirmed, and the dead-letter records with their ``dlq-*`` headers."""
