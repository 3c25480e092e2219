"""The one settings object of a process; nothing else reads the environment.

Variables carry the ``OPSASSIST_`` prefix, except the conventional ``DATABASE_URL``,
``KAFKA_BOOTSTRAP_SERVERS``, ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``.

Every secret is a ``SecretStr``, so that ``repr``, ``str`` and ``model_dump_json`` of the
settings (in a log line, a traceback, a debugger) show ``**********``; only the code that signs
or authenticates with a secret calls ``get_secret_value()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# defined where the CLI can read it without pydantic; re-exported for the code that reads it here
from opsassist import PROJECT_ROOT as PROJECT_ROOT  # noqa: PLC0414


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "opsassist"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "opsassist"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSASSIST_", extra="ignore")

    # -- services; empty means "start one locally" (opsassist infra up / make run)
    kafka_bootstrap_servers: str = Field(
        default="",
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "OPSASSIST_KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    database_url: str = Field(
        default="", validation_alias=AliasChoices("DATABASE_URL", "OPSASSIST_DATABASE_URL")
    )
    openai_api_key: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("OPENAI_API_KEY")
    )
    openai_base_url: str = Field(default="", validation_alias=AliasChoices("OPENAI_BASE_URL"))

    # -- local infrastructure (only used when the services above are not configured)
    state_dir: Path = Field(default_factory=_default_state_dir)
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    kafka_version: str = "4.1.1"
    kafka_heap: str = "512m"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    postgres_port: int = 5433

    # -- topics
    topic_logs: str = "ops.logs.raw"
    topic_commits: str = "ops.commits.raw"
    topic_tickets: str = "ops.tickets.raw"
    # Alertmanager's alerts (POST /webhooks/alertmanager), keyed by fingerprint; the worker
    # turns them into incidents (docs/incidents.md, "Alerts").
    topic_alerts: str = "ops.alerts.raw"
    topic_dead_letter: str = "ops.deadletter"
    topic_partitions: int = 4
    topic_replication_factor: int = 1
    # How long the topics keep events, set when they are created. The raw topics and the
    # dead-letter topic are the only places originals (unredacted) remain: docs/privacy.md.
    topic_raw_retention_hours: float = Field(default=168.0, gt=0)
    topic_dead_letter_retention_hours: float = Field(default=168.0, gt=0)

    # -- worker
    worker_id: str = "opsassist-worker"
    worker_web_port: int = 6066
    # -- lag exporter (`opsassist lag-exporter`): the group's lag read from Kafka, on /metrics
    lag_exporter_host: str = "127.0.0.1"
    lag_exporter_port: int = 9308
    lag_exporter_interval_seconds: float = Field(default=5.0, gt=0)
    worker_batch_size: int = 2000
    worker_batch_seconds: float = 0.5
    worker_db_pool_size: int = 4
    # Events a stream may hold before Faust pauses fetching (flow control), and records per poll.
    worker_stream_buffer: int = 16384
    worker_max_poll_records: int = 2000
    # How long the broker may hold a fetch for partitions with no new data
    # (streams/runtime/transport.py).
    worker_fetch_max_wait_ms: int = 100
    # How long a silent (crashed) worker keeps its partitions before the group reassigns them.
    worker_session_timeout_seconds: float = 10.0
    # The longest wait between two attempts at a batch while PostgreSQL (or Kafka) is away; the
    # wait doubles from 0.2 s up to this, with jitter (docs/reliability.md).
    worker_retry_max_backoff_seconds: float = Field(default=30.0, gt=0)
    # Work pending (a batch under way, or a partition behind) with no progress for longer than
    # this makes the worker's /healthz answer 503, so that an orchestrator restarts it.
    worker_stall_seconds: float = Field(default=300.0, gt=0)

    # -- api
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # uvicorn worker processes of `opsassist api`; 0: one per CPU core this process may use.
    api_workers: int = Field(default=0, ge=0)

    # -- `opsassist run` (make run): restarting a worker or API process that exits
    run_restart_backoff_seconds: float = Field(default=1.0, gt=0)
    run_quick_crash_seconds: float = Field(default=60.0, gt=0)
    run_max_quick_crashes: int = Field(default=5, ge=0)

    # -- logging
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")

    # -- evaluation data for tests and benchmarks
    eval_data: Path = Field(default_factory=lambda: PROJECT_ROOT.parent / "shared" / "data")

    # -- llm (issue 5); nothing is sent anywhere unless OPENAI_API_KEY/OPENAI_BASE_URL is set or
    # the file below names a provider. The file: providers, tasks, models (docs/llm.md).
    llm_config_file: Path | None = None
    llm_prompts_dir: Path | None = None  # prompt and chain files; the shipped llm/prompts if unset
    llm_provider_keys: dict[str, SecretStr] = Field(default_factory=dict)  # provider -> key (JSON)
    llm_max_concurrency: int = Field(default=4, gt=0)  # requests in flight per process
    llm_max_cost_per_hour_usd: float = Field(default=2.0, gt=0)  # all tasks of the process
    llm_retry_attempts: int = Field(default=3, gt=0)  # requests per model, first one included
    llm_retry_base_seconds: float = 0.5
    llm_retry_max_seconds: float = 20.0  # a longer Retry-After moves on to the next model
    llm_breaker_failures: int = Field(default=5, gt=0)  # consecutive failures that open it
    llm_breaker_reset_seconds: float = 30.0  # open this long, then one trial request
    llm_cache: bool = True  # false: LLMClient.from_settings ignores the answer cache it is given
    # -- triage (issue 7)
    # Taxonomy, rules, thresholds and SLA (TOML); unset means the packaged default_config.toml.
    triage_config: Path | None = None
    # A model written by `opsassist triage train`; unset means rules (and the LLM) only.
    triage_model_path: Path | None = None
    triage_llm_timeout_seconds: float = 30.0
    # How often a worker looks for a newer active model in PostgreSQL (triage_models); the
    # model file above, when set, pins the model instead.
    triage_model_poll_seconds: float = Field(default=10.0, gt=0)
    # -- webhooks (issue 3)
    # The secret configured on the GitHub webhook; empty: /webhooks/github refuses everything.
    github_webhook_secret: SecretStr = SecretStr("")
    # Largest request body accepted as sent (compressed or not), and once decompressed.
    webhook_max_body_bytes: int = Field(default=10 * 2**20, ge=1024)
    webhook_max_decompressed_bytes: int = Field(default=64 * 2**20, ge=1024)
    # How many rejected lines /ingest/logs lists one by one (all are counted).
    webhook_max_listed_rejects: int = Field(default=100, ge=1)
    # Per API key (and for GitHub): a token bucket, refilled at rate/s up to burst requests.
    webhook_rate_limit_per_second: float = Field(default=50.0, gt=0)
    webhook_rate_limit_burst: int = Field(default=100, ge=1)
    # How long an idempotency key is remembered (at least a day), and how long a request that
    # never finished holds its key before a retry may take it over.
    webhook_idempotency_ttl_hours: float = Field(default=24.0, ge=24.0)
    webhook_idempotency_lease_seconds: float = Field(default=30.0, gt=0)
    # How long a request waits for Kafka's acknowledgement before answering 503 (GitHub gives
    # up after 10 s), and the Retry-After it suggests.
    webhook_produce_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_retry_after_seconds: int = Field(default=5, ge=1)
    webhook_producer_linger_ms: int = Field(default=1, ge=0)
    # How long a verified API key is trusted without reading the database again (revocation
    # takes effect within this delay).
    webhook_api_key_cache_seconds: float = Field(default=5.0, ge=0)
    # -- privacy and enrichment (issue 4)
    # A redaction policy (TOML, the shape of streams/privacy/default_policy.toml); None = that one.
    privacy_policy: Path | None = None
    # HMAC key of the "pseudonymize" action; empty makes pseudonyms fall back to masks.
    privacy_pseudonym_key: SecretStr = SecretStr("")
    # HMAC key under which idempotency keys are stored (never the keys themselves); empty:
    # derived from privacy_pseudonym_key, and without that one an unkeyed SHA-256.
    privacy_idempotency_key_secret: SecretStr = SecretStr("")
    # Texts (up to 1,024 characters) whose spans the detectors remember, so that a repeated line
    # or field value is not scanned again; process memory only. 0 turns the cache off.
    privacy_span_cache_entries: int = Field(default=8192, ge=0)
    # Per event source, how its plain-text lines start: {"source": {"format": "<Date> <Time>
    # <Level> <Content>", "timestamp": "%Y-%m-%d %H:%M:%S", "timezone": "Europe/Paris"}}.
    enrich_sources: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Attached to events that do not say their own; the timezone of timestamps without an offset.
    enrich_environment: str = ""
    enrich_default_timezone: str = "UTC"
    # -- logs (issue 6): template mining, windows, incidents; see docs/logs.md
    logs_similarity: float = Field(default=0.7, gt=0, le=1)
    logs_variants: int = Field(default=3, ge=1)
    logs_max_templates: int = Field(default=5000, ge=1)
    logs_window_seconds: list[int] = Field(default_factory=lambda: [60, 3600])
    logs_top_templates: int = 5
    logs_baseline_windows: int = 60
    logs_min_history: int = 5
    logs_spike_ratio: float = 5.0
    logs_critical_ratio: float = 20.0
    logs_min_errors: int = 10
    logs_new_error_templates: int = 3
    logs_quiet_windows: int = 3
    # How long the worker waits for an LLM summary of a window that changed an incident.
    logs_llm_timeout_seconds: float = Field(default=60.0, gt=0)

    # -- GraphQL API (issue 10): logins, limits, production behaviour; see docs/graphql.md
    # HS256 key of access tokens; empty: a random key per process (tokens die with it).
    graphql_jwt_secret: SecretStr = SecretStr("")
    graphql_access_token_minutes: float = Field(default=15.0, gt=0)
    graphql_refresh_token_days: float = Field(default=14.0, gt=0)
    graphql_bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    # Anyone may sign up (as ops); otherwise only an admin creates accounts.
    graphql_open_signup: bool = False
    # Production: unexpected errors are masked and GraphiQL is off (unless graphql_graphiql).
    # `opsassist run` (make run) sets it false: that is what "development" means here.
    graphql_production: bool = True
    graphql_graphiql: bool = False
    # Introspection (__schema, __type) and "Did you mean ...?" suggestions in errors: always on
    # in development, off in production unless this says otherwise (GraphiQL needs it).
    graphql_introspection: bool = False
    # Largest /graphql request body (and WebSocket message), refused before it is read, and the
    # longest query text, refused before it is parsed.
    graphql_max_body_bytes: int = Field(default=2**20, ge=1024)
    graphql_max_query_chars: int = Field(default=100_000, ge=100)
    # Login throttling, kept in PostgreSQL so that it holds across API processes: per (account,
    # client address) some free failures, then a capped exponential backoff; per account, a
    # ceiling on failures from addresses that never logged in to it. See docs/graphql.md.
    graphql_login_free_failures: int = Field(default=5, ge=1)
    graphql_login_backoff_seconds: float = Field(default=2.0, gt=0)
    graphql_login_backoff_max_seconds: float = Field(default=900.0, gt=0)
    graphql_login_account_ceiling: int = Field(default=50, ge=1)
    graphql_login_account_window_seconds: float = Field(default=900.0, gt=0)
    graphql_login_known_address_days: float = Field(default=30.0, gt=0)
    graphql_max_depth: int = Field(default=10, ge=2)
    graphql_max_aliases: int = Field(default=15, ge=1)
    graphql_max_tokens: int = Field(default=2000, ge=100)
    graphql_max_page_size: int = Field(default=100, ge=1)
    graphql_default_page_size: int = Field(default=20, ge=1)
    graphql_max_buckets: int = Field(default=2000, ge=1)
    # Read-only query results shared per API process for this long (0: off); a reader sees
    # changes at most this long (plus one execution) late. See docs/graphql.md.
    graphql_response_cache_seconds: float = Field(default=1.0, ge=0)

    @property
    def topics(self) -> dict[str, str]:
        """Event kind -> raw topic name."""
        return {
            "log": self.topic_logs,
            "commit": self.topic_commits,
            "ticket": self.topic_tickets,
            "alert": self.topic_alerts,
        }

    @property
    def kafka_data_dir(self) -> Path:
        return self.state_dir / "kafka"

    @property
    def postgres_data_dir(self) -> Path:
        return self.state_dir / "postgres"

    # -- changelog (issue 8)
    # TOML laid over streams/changelog/default.toml; None: the default alone.
    changelog_config: Path | None = None
    # Base URL for commit/PR/issue links (https://github.com/owner/name); empty: no links.
    changelog_repository_url: str = ""
    # Offer changed releases to the LLM (task changelog_polish) for rewording, when one is
    # configured; a rewording is kept only if every commit keeps exactly one entry.
    changelog_polish: bool = True

    # -- tracing (issue 27): OpenTelemetry spans of the API and the worker (docs/observability.md)
    # The OTLP/HTTP traces URL spans are exported to (``http://collector:4318/v1/traces``).
    # Empty: no spans are recorded or sent; the W3C traceparent is still continued hop to hop.
    tracing_otlp_endpoint: str = ""
    # The spans' ``service.name``; empty: ``opsassist-api`` or ``opsassist-worker``.
    tracing_service_name: str = ""
    # Share of new traces recorded; a request or record that arrives with a traceparent keeps
    # the sampling decision of its trace (its sampled flag).
    tracing_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)

    # -- issue trackers as ticket sources (issue 29): GitHub and GitLab issues (docs/webhooks.md)
    # GitHub sends ``issue_comment`` for pull requests too (a pull request is an issue there);
    # false: those deliveries are answered 202 and ignored, so review chatter makes no tickets.
    github_issue_pull_requests: bool = False
    # The secret token set on the GitLab webhook (sent as ``X-Gitlab-Token``); empty:
    # /webhooks/gitlab refuses every delivery.
    gitlab_webhook_token: SecretStr = SecretStr("")

    # -- incident notifications (issue 23): `opsassist notify` (docs/incidents.md, "Notifications")
    # The routes (TOML, ``[[routes]]``); None: no route, the notifier delivers nothing.
    notify_routes: Path | None = None
    # Not among ``topics``: the worker does not consume them; the notifier creates them.
    topic_notifications: str = "ops.notifications"
    topic_notifications_dead_letter: str = "ops.notifications.dlq"
    # The notifier's own consumer group on ``topic_notifications``.
    notify_group: str = "opsassist-notify"
    # Attempts per delivery before the dead-letter topic; waits between them grow from
    # ``notify_backoff_seconds`` (doubling, with full jitter) up to ``notify_backoff_max_seconds``.
    notify_max_attempts: int = Field(default=5, ge=1)
    notify_backoff_seconds: float = Field(default=1.0, gt=0)
    notify_backoff_max_seconds: float = Field(default=60.0, gt=0)
    # How long one attempt may take (connect, send, answer).
    notify_timeout_seconds: float = Field(default=10.0, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
