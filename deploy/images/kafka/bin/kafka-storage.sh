#!/bin/sh
exec /opt/kafka/bin/kafka-tool.sh kafka.tools.StorageTool "$@"
