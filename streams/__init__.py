"""The stream processing: stages as plain code (no Kafka, no Faust, no database) and the Faust
agents that wire them. Importing this package does not import Faust."""
