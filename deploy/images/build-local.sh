#!/usr/bin/env bash
# Stand-ins for the official base images, for Docker hosts that cannot pull from a registry.
#
# Each image is built under the exact name that Dockerfile and docker-compose.yml use, and only
# when no image of that name is present: where a registry is reachable, `docker compose pull`
# brings the official ones and this script does nothing. The stand-ins come from a debootstrap
# Debian bookworm (minbase), Debian's packages (apt over plain HTTP) and the Kafka jars from
# Maven Central, all cached outside the repository (OPSASSIST_CACHE_DIR, ~/.cache/opsassist).
#
#   deploy/images/build-local.sh            # build what is missing
#   DEBIAN_ROOTFS=/path/to/rootfs deploy/images/build-local.sh   # reuse an existing rootfs
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${OPSASSIST_CACHE_DIR:-$HOME/.cache/opsassist}
base=opsassist-stand-in/debian:bookworm
kafka_version=4.1.1

# name (as the compose file and Dockerfile say it) -> folder of its Dockerfile
declare -A stand_ins=(
    [python:3.11-slim]=python
    ["apache/kafka:$kafka_version"]=kafka
    [postgres:15]=postgres
    [prom/prometheus:v2.55.1]=prometheus
    [prom/alertmanager:v0.27.0]=alertmanager
)

present() { docker image inspect "$1" >/dev/null 2>&1; }

debian_base() {
    present "$base" && return
    local rootfs=${DEBIAN_ROOTFS:-$cache/debian-bookworm-minbase}
    if [ ! -x "$rootfs/bin/sh" ]; then
        command -v debootstrap >/dev/null || { echo "error: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
        echo "debootstrap: Debian bookworm (minbase) into $rootfs"
        rm -rf "$rootfs.partial"
        debootstrap --variant=minbase bookworm "$rootfs.partial" http://deb.debian.org/debian >/dev/null
        mv "$rootfs.partial" "$rootfs"
    fi
    echo "docker import: $base from $rootfs"
    tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
}

kafka_jars() {
    # The broker's jars are what `opsassist infra jars` resolves; the command-line tools
    # (kafka-topics.sh, kafka-broker-api-versions.sh) are in kafka-tools, fetched beside them.
    local lib=$cache/kafka-$kafka_version/lib tools=$cache/kafka-tools-$kafka_version
    if [ ! -f "$lib/kafka_2.13-$kafka_version.jar" ]; then
        echo "error: no Kafka jars in $lib: run 'make jars' first" >&2
        exit 1
    fi
    if [ ! -f "$tools/kafka-tools-$kafka_version.jar" ]; then
        mkdir -p "$tools"
        mvn -q -B dependency:copy -Dartifact="org.apache.kafka:kafka-tools:$kafka_version" \
            -DoutputDirectory="$tools"
    fi
    cp "$lib"/*.jar "$tools/kafka-tools-$kafka_version.jar" "$1/"
}

build() {
    local name=$1 folder=$here/${stand_ins[$1]} context
    context=$(mktemp -d)
    trap 'rm -rf "$context"' RETURN
    cp -r "$folder"/. "$context"/
    if [ "${stand_ins[$name]}" = kafka ]; then
        mkdir -p "$context/libs"
        kafka_jars "$context/libs"
    fi
    echo "docker build: $name (stand-in, from $base)"
    docker build --quiet --build-arg BASE="$base" -t "$name" "$context" >/dev/null
}

missing=()
for name in "${!stand_ins[@]}"; do
    present "$name" || missing+=("$name")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "base images: all present"
    exit 0
fi
debian_base
for name in "${missing[@]}"; do
    build "$name"
done
