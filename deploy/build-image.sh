#!/usr/bin/env bash
# The opsassist image (IMAGE, default opsassist:local) from the working tree.
#
# pip runs here on the host, never inside the build: the runtime lock's wheels (hashes checked)
# and the opsassist wheel go into deploy/wheelhouse/ (git-ignored), and the Dockerfile installs
# them with --no-index. A host that reaches PyPI (directly or through a proxy whose CA the host
# trusts) is enough; the build itself needs no network and no CA.
set -euo pipefail
cd "$(dirname "$0")/.."

image=${IMAGE:-opsassist:local}
python=${PYTHON:-.venv/bin/python}
wheelhouse=deploy/wheelhouse

mkdir -p "$wheelhouse"
# Wheels only: the image has no compiler, and every locked package publishes a wheel for
# CPython 3.11 on Linux (the host's architecture is the image's).
"$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --require-hashes -r requirements-runtime.lock -d "$wheelhouse"

# The opsassist wheel from the files git knows (tracked, or new and not ignored), built in a
# scratch copy: setuptools' build/ folder in a checkout can hold files the package dropped.
source=$(mktemp -d)
trap 'rm -rf "$source"' EXIT
git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --ignore-failed-read -c 2>/dev/null | tar -x -C "$source"
rm -f "$wheelhouse"/opsassist-*.whl
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$wheelhouse" "$source"

docker build --quiet -t "$image" . >/dev/null
echo "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
