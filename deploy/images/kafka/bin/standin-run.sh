#!/bin/sh
# The official image's start: server.properties from the KAFKA_* environment (KAFKA_NODE_ID ->
# node.id; "___" -> "-", "__" -> "_"), storage formatted on the first start, then the broker.
set -eu
conf=/opt/kafka/config/server.properties
: >"$conf"
env | sort | while IFS='=' read -r name value; do
    case "$name" in
        KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS | KAFKA_VERSION) ;;
        KAFKA_*)
            key=$(printf '%s' "${name#KAFKA_}" | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g' | tr 'A-Z' 'a-z')
            printf '%s=%s\n' "$key" "$value" >>"$conf" ;;
    esac
done
grep -q '^log.dirs=' "$conf" || echo "log.dirs=/var/lib/kafka/data" >>"$conf"
log_dir=$(sed -n 's/^log.dirs=//p' "$conf" | cut -d, -f1)
if [ ! -f "$log_dir/meta.properties" ]; then
    /opt/kafka/bin/kafka-storage.sh format --ignore-formatted -c "$conf" \
        -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
