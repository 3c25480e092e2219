#!/bin/sh
exec /opt/kafka/bin/kafka-tool.sh org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
