"""A single-node Apache Kafka 4.x in KRaft mode (broker + controller), run from the official jars.

The jars are resolved through Maven Central at a pinned version with a tiny pom
(``infra/kafka-pom.xml``) and cached outside the repository; the storage is formatted with
``kafka.tools.StorageTool`` and the broker started with ``kafka.Kafka`` on a small heap.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from opsassist.infra.errors import InfraError
from opsassist.infra.processes import port_free, port_open, read_pid, stop_pid, tail

POM_TEMPLATE = resources.files("opsassist.infra").joinpath("kafka-pom.xml")
MIN_JAVA = 17

_LOG4J2 = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.common.config.AbstractConfig
        level: WARN
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
"""


def java_binary() -> str:
    """The ``java`` to run Kafka with; a clear error if there is none or it is too old."""
    java = shutil.which("java")
    if java is None:
        raise InfraError(
            "The local Kafka needs a Java runtime (JDK/JRE 17 or newer) and none was found on "
            "PATH. Install one (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: "
            "brew install openjdk@17), or point KAFKA_BOOTSTRAP_SERVERS at an existing broker."
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8" style
            major = int(match.group(2))
        if major < MIN_JAVA:
            raise InfraError(
                f"Kafka 4 needs Java {MIN_JAVA} or newer; {java} is Java {major}. "
                "Install openjdk-17-jre-headless (or newer) or set KAFKA_BOOTSTRAP_SERVERS."
            )
    return java


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding. Never one that
    starts with '-': the storage tool would read it as an option (1 start in 64 failed so)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass
class LocalKafka:
    """One local broker. ``data_dir`` holds its storage, config, log and pid file."""

    version: str
    cache_dir: Path
    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def lib_dir(self) -> Path:
        return self.cache_dir / f"kafka-{self.version}" / "lib"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "kafka.pid"

    # -- jars ---------------------------------------------------------------------------------

    def ensure_jars(self) -> Path:
        """Resolve the Kafka jars into the cache once; later calls reuse them."""
        marker = self.lib_dir / ".complete"
        if marker.exists():
            return self.lib_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise InfraError(
                "Resolving the Kafka jars needs Maven (mvn) on PATH the first time. "
                "Install it (Debian/Ubuntu: apt-get install maven), or set KAFKA_BOOTSTRAP_SERVERS."
            )
        work = self.lib_dir.parent
        work.mkdir(parents=True, exist_ok=True)
        pom = work / "pom.xml"
        pom.write_text(POM_TEMPLATE.read_text().replace("@KAFKA_VERSION@", self.version))
        done = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.lib_dir}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise InfraError(
                f"Maven could not resolve org.apache.kafka:kafka_2.13:{self.version} "
                f"from Maven Central:\n{(done.stdout + done.stderr)[-2000:]}"
            )
        marker.write_text(self.version)
        return self.lib_dir

    # -- config and storage --------------------------------------------------------------------

    def _write_config(self) -> Path:
        logs = self.data_dir / "logs"
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(logs),
            "num.partitions": "4",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # The cleaner's dedupe buffer defaults to 128 MB: too much for a 512 MB heap.
            "log.cleaner.dedupe.buffer.size": str(32 * 1024 * 1024),
            # Faust creates its own internal topics; ours are created explicitly.
            "auto.create.topics.enable": "true",
        }
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.data_dir / "log4j2.yaml").write_text(_LOG4J2)
        return path

    def _java_cmd(self, java: str, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.yaml'}",
            "-cp",
            f"{self.lib_dir}/*",
            main,
            *args,
        ]

    def _format_storage(self, java: str, config: Path) -> None:
        if (self.data_dir / "logs" / "meta.properties").exists():
            return
        done = subprocess.run(
            self._java_cmd(
                java,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                new_cluster_id(),
                "-c",
                str(config),
                "--standalone",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise InfraError(
                f"Formatting the Kafka storage failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )

    # -- lifecycle -----------------------------------------------------------------------------

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def start(self, timeout: float = 90.0) -> str:
        """Start the broker detached (or find it running) and wait until it serves requests."""
        if self.pid() is not None:
            self.wait_ready(timeout)
            return self.bootstrap_servers
        java = java_binary()
        self.ensure_jars()
        for port in (self.port, self.controller_port):
            if not port_free(port):
                raise InfraError(
                    f"Port {port} is taken by another program, so the local Kafka cannot listen "
                    "there. Stop it, or set OPSASSIST_KAFKA_PORT/OPSASSIST_KAFKA_CONTROLLER_PORT."
                )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._format_storage(java, config)
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                self._java_cmd(java, "kafka.Kafka", str(config), heap=self.heap),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        self.wait_ready(timeout, proc, log_offset)
        return self.bootstrap_servers

    def wait_ready(
        self, timeout: float, proc: subprocess.Popen[bytes] | None = None, log_offset: int = 0
    ) -> None:
        """Wait until the broker has started and answers on its port, or raise with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise InfraError(
                    f"Kafka exited with code {proc.returncode} while starting; the end of "
                    f"{self.log_file}:\n{tail(self.log_file)}"
                )
            if port_open(self.port) and _log_says_started(self.log_file, log_offset):
                return
            time.sleep(0.2)
        raise InfraError(
            f"Kafka did not become ready within {timeout:.0f}s; the end of {self.log_file}:\n"
            f"{tail(self.log_file)}"
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker cleanly (SIGTERM, then SIGKILL after ``timeout``); False if none ran."""
        pid = self.pid()
        if pid is None:
            return False
        stop_pid(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True


def _log_says_started(log_file: Path, offset: int) -> bool:
    """Whether the broker logged its start after ``offset`` (the log is appended across runs)."""
    try:
        with log_file.open("rb") as fh:
            fh.seek(offset)
            return b"Kafka Server started" in fh.read()
    except FileNotFoundError:
        return False
