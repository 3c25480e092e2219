"""The one settings object of a process; nothing else reads the environment.

Variables carry the ``OPSASSIST_`` prefix, except the conventional ``DATABASE_URL``,
``KAFKA_BOOTSTRAP_SERVERS``, ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    openai_api_key: str = Field(default="", validation_alias=AliasChoices("OPENAI_API_KEY"))
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
    topic_dead_letter: str = "ops.deadletter"
    topic_partitions: int = 4
    topic_replication_factor: int = 1

    # -- worker
    worker_id: str = "opsassist-worker"
    worker_web_port: int = 6066
    worker_batch_size: int = 2000
    worker_batch_seconds: float = 0.5
    worker_db_pool_size: int = 4
    # Events a stream may hold before Faust pauses fetching (flow control), and records per poll.
    worker_stream_buffer: int = 16384
    worker_max_poll_records: int = 2000
    # How long the broker may hold a fetch for partitions with no new data (streams/transport.py).
    worker_fetch_max_wait_ms: int = 100
    # How long a silent (crashed) worker keeps its partitions before the group reassigns them.
    worker_session_timeout_seconds: float = 10.0

    # -- api
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    # -- logging
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")

    # -- evaluation data for tests and benchmarks
    eval_data: Path = Field(default_factory=lambda: PROJECT_ROOT.parent / "shared" / "data")

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

    @property
    def topics(self) -> dict[str, str]:
        """Event kind -> raw topic name."""
        return {"log": self.topic_logs, "commit": self.topic_commits, "ticket": self.topic_tickets}

    @property
    def kafka_data_dir(self) -> Path:
        return self.state_dir / "kafka"

    @property
    def postgres_data_dir(self) -> Path:
        return self.state_dir / "postgres"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
