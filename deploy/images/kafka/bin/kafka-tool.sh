#!/bin/sh
# The command-line tools run on a small heap of their own: a healthcheck every few seconds must
# not reserve the broker's heap again.
KAFKA_HEAP_OPTS=-Xmx128m exec /opt/kafka/bin/kafka-run-class.sh "$@"
