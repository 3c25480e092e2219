# The Opsassist image: one image for the API, the worker and the migrations (docker-compose.yml
# runs it as `api`, `worker` and `migrate`). Build it with `make images` (deploy/build-image.sh):
# the context is only requirements-runtime.lock and a wheelhouse made on the host, so the image
# installs offline with every hash checked, and behind a TLS-inspecting proxy nothing inside the
# build needs to reach PyPI (docs/containers.md).

# -- build: a virtualenv of the runtime lock and the opsassist wheel, nothing else
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements-runtime.lock /tmp/
COPY deploy/wheelhouse/ /tmp/wheelhouse/
RUN python -m venv /opt/opsassist \
 && /opt/opsassist/bin/pip install --quiet --no-index --find-links /tmp/wheelhouse \
        --require-hashes -r /tmp/requirements-runtime.lock \
 && /opt/opsassist/bin/pip install --quiet --no-index --no-deps /tmp/wheelhouse/opsassist-*.whl \
 && /opt/opsassist/bin/pip uninstall --quiet --yes pip \
 && find /opt/opsassist -name __pycache__ -prune -exec rm -rf {} + \
 && find /opt/opsassist/lib/python3.11/site-packages -mindepth 2 -type d -name tests \
        -prune -exec rm -rf {} +
# (The third-party packages' own test suites, ~25 MB of numpy, scipy and scikit-learn, are
# never imported at run time.)

# -- runtime: the virtualenv on the same Python base, run as an unprivileged user
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/opsassist/bin:$PATH \
    OPSASSIST_API_HOST=0.0.0.0 OPSASSIST_LOG_FORMAT=json
RUN useradd --create-home --uid 10001 opsassist
COPY --from=build /opt/opsassist /opt/opsassist
USER opsassist
WORKDIR /home/opsassist
EXPOSE 8000 6066
# Alive when the API (api) or the worker's web page (worker) answers /healthz; compose names the
# exact one per service.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", "\
import os, sys, urllib.request\n\
ports = os.environ.get('OPSASSIST_API_PORT', '8000'), os.environ.get('OPSASSIST_WORKER_WEB_PORT', '6066')\n\
for port in ports:\n\
    try:\n\
        urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)\n\
        sys.exit(0)\n\
    except OSError:\n\
        pass\n\
sys.exit(1)"]
ENTRYPOINT ["opsassist"]
CMD ["api"]
