# The Opsassist image: one image for the worker, the API and the migrations (docker-compose.yml
# runs it three ways). Dependencies come from requirements.lock, as `make install` uses them.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 opsassist
WORKDIR /app

COPY requirements.lock pyproject.toml README.md ./
RUN pip install -r requirements.lock
COPY . .
RUN pip install --no-deps . && rm -rf tests bench

USER opsassist
ENV OPSASSIST_API_HOST=0.0.0.0 OPSASSIST_LOG_FORMAT=json
EXPOSE 8000 6066
ENTRYPOINT ["opsassist"]
CMD ["api"]
