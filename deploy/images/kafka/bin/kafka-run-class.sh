#!/bin/sh
# java with every jar of /opt/kafka/libs; the broker passes its heap in KAFKA_HEAP_OPTS.
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -Djava.awt.headless=true \
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties ${KAFKA_OPTS:-} \
    -cp '/opt/kafka/libs/*' "$@"
