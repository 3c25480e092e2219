"""The Helm chart (helm/opsassist) as `helm template` renders it, held to what docker-compose.yml
runs and to the rules of docs/kubernetes.md: the same commands and settings, unprivileged
containers on a read-only root filesystem, probes, the migration hook, no more workers than
partitions, no `latest` image. Needs the real `helm` (.ci/run builds it); skipped without it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsassist.settings import PROJECT_ROOT, Settings

CHART = PROJECT_ROOT / "helm" / "opsassist"
PROD_VALUES = CHART / "values-prod.yaml"
KUBE_VERSION = "1.30.0"
# The chart's own Secret keys: docker-compose.yml's secret settings, never plain env values.
SECRET_KEYS = {
    "DATABASE_URL",
    "OPENAI_API_KEY",
    "OPSASSIST_GITHUB_WEBHOOK_SECRET",
    "OPSASSIST_GRAPHQL_JWT_SECRET",
}
WORKLOAD_KINDS = {"Deployment", "Job"}


def _helm() -> str | None:
    """`helm` on PATH, or the one .ci/run caches in <cache dir>/bin."""
    cached = Settings().cache_dir / "bin" / "helm"
    return shutil.which("helm") or (str(cached) if cached.is_file() else None)


HELM = _helm()
pytestmark = pytest.mark.skipif(
    HELM is None,
    reason="no `helm` on PATH or in ~/.cache/opsassist/bin; .ci/run builds it "
    "(go install helm.sh/helm/v4/cmd/helm@v4.3.2)",
)


def _helm_run(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM is not None
    return subprocess.run(
        [HELM, *args], capture_output=True, text=True, timeout=120, check=False, cwd=PROJECT_ROOT
    )


def _render(*args: str) -> list[dict[str, Any]]:
    rendered = _helm_run(
        "template", "opsassist", str(CHART), "--namespace", "ops", "--kube-version", KUBE_VERSION,
        *args,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def _render_error(*args: str) -> str:
    rendered = _helm_run("template", "opsassist", str(CHART), "--kube-version", KUBE_VERSION, *args)
    assert rendered.returncode != 0, "the chart rendered values it must refuse"
    return rendered.stderr


def _one(objects: list[dict[str, Any]], kind: str, name_suffix: str) -> dict[str, Any]:
    found = [
        o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)
    ]
    assert len(found) == 1, f"{kind} *{name_suffix}: {[o['metadata']['name'] for o in found]}"
    return found[0]


def _pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in WORKLOAD_KINDS
    ]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module", params=["default", "prod"])
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _render() if request.param == "default" else _render("-f", str(PROD_VALUES))


@pytest.mark.parametrize("values", [[], ["-f", str(PROD_VALUES)]], ids=["default", "prod"])
def test_helm_lint_strict_passes(values: list[str]) -> None:
    linted = _helm_run("lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION, *values)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_every_container_is_unprivileged_on_a_read_only_root(
    rendered: list[dict[str, Any]],
) -> None:
    pods = _pod_specs(rendered)
    assert {name.rsplit("-", 1)[-1] for name, _ in pods} >= {"api", "worker", "migrate"}
    for name, pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        writable = {m["mountPath"] for c in pod["containers"] for m in c.get("volumeMounts", [])}
        assert "/tmp" in writable, name
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, (name, container["name"])
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"]["drop"] == ["ALL"], (name, container["name"])
            assert "resources" in container and container["resources"]["requests"], name


def test_no_image_is_latest_or_untagged(rendered: list[dict[str, Any]]) -> None:
    for name, pod in _pod_specs(rendered):
        for container in pod["containers"]:
            image = container["image"]
            reference = image.split("@", 1)[0].rsplit("/", 1)[-1]
            assert "@sha256:" in image or ":" in reference, (name, image)
            assert not image.endswith(":latest"), (name, image)


def test_commands_and_settings_are_those_of_docker_compose(rendered: list[dict[str, Any]]) -> None:
    services = _compose()["services"]
    compose_env = set(services["migrate"]["environment"])
    for service in ("api", "worker", "migrate"):
        suffix = "migrate" if service == "migrate" else service
        workload = _one(rendered, "Job" if service == "migrate" else "Deployment", f"-{suffix}")
        container = workload["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][0] == services[service]["command"][0], service
        plain = {e["name"] for e in container["env"]}
        # Every compose setting is set: the plain ones as env, the secret ones from the Secret.
        assert compose_env - SECRET_KEYS <= plain, (service, compose_env - SECRET_KEYS - plain)
        assert compose_env & SECRET_KEYS == SECRET_KEYS, service
        assert not plain & SECRET_KEYS, f"{service}: a secret as a plain env value"
        assert [s["secretRef"]["name"] for s in container["envFrom"]], service
        for name, value in services[service]["environment"].items():
            if name.startswith("OPSASSIST_") and name not in compose_env:
                # the per-service settings: OPSASSIST_WORKER_WEB_PORT, OPSASSIST_API_WORKERS
                assert {"name": name, "value": str(value)} in container["env"], (service, name)


def test_probes_ask_healthz_and_readyz(rendered: list[dict[str, Any]]) -> None:
    api = _one(rendered, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    worker = _one(rendered, "Deployment", "-worker")["spec"]["template"]["spec"]["containers"][0]
    port = next(e["value"] for e in worker["env"] if e["name"] == "OPSASSIST_WORKER_WEB_PORT")
    assert worker["ports"] == [{"name": "http", "containerPort": int(port), "protocol": "TCP"}]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert worker[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe


def test_migrations_run_as_a_hook_before_the_pods(rendered: list[dict[str, Any]]) -> None:
    job = _one(rendered, "Job", "-migrate")
    hooks = set(job["metadata"]["annotations"]["helm.sh/hook"].split(","))
    assert hooks == {"pre-install", "pre-upgrade"}
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_worker_replicas_never_exceed_the_partitions(rendered: list[dict[str, Any]]) -> None:
    worker = _one(rendered, "Deployment", "-worker")
    partitions = int(
        next(
            e["value"]
            for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]
            if e["name"] == "OPSASSIST_TOPIC_PARTITIONS"
        )
    )
    scaled = [o for o in rendered if o["kind"] == "ScaledObject"]
    if scaled:
        assert "replicas" not in worker["spec"], "KEDA owns the replica count"
        assert scaled[0]["spec"]["maxReplicaCount"] <= partitions
    else:
        assert 1 <= worker["spec"]["replicas"] <= partitions


def test_the_prod_values_scale_both_deployments() -> None:
    objects = _render("-f", str(PROD_VALUES))
    hpa = _one(objects, "HorizontalPodAutoscaler", "-api")
    api = _one(objects, "Deployment", "-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"]
    scaled = _one(objects, "ScaledObject", "-worker")
    assert scaled["spec"]["triggers"][0]["type"] == "kafka"
    # capped at the partition count (24) although values ask for no more; and with more asked:
    capped = _render("-f", str(PROD_VALUES), "--set", "worker.keda.maxReplicas=100")
    assert _one(capped, "ScaledObject", "-worker")["spec"]["maxReplicaCount"] == 24
    assert {o["kind"] for o in objects} >= {"PodDisruptionBudget", "NetworkPolicy", "Ingress"}


def test_the_chart_refuses_what_cannot_work() -> None:
    too_many = _render_error("--set", "worker.replicas=13", "--set", "topics.partitions=12")
    assert "worker.replicas (13) exceeds topics.partitions (12)" in too_many
    # values.schema.json refuses it (the template check backs it up for a schema-less render)
    assert "/image/tag" in _render_error("--set", "image.tag=latest")
    assert "DATABASE_URL" in _render_error("--set", "secrets.existingSecret=")


def test_a_secret_from_values_exists_before_the_migration_hook() -> None:
    objects = _render(
        "--set", "secrets.existingSecret=",
        "--set", "secrets.values.DATABASE_URL=postgresql://u:p@db:5432/opsassist",
    )  # fmt: skip
    secret = _one(objects, "Secret", "-settings")
    job = _one(objects, "Job", "-migrate")
    assert "pre-install" in secret["metadata"]["annotations"]["helm.sh/hook"]
    weight = int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert weight < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    envfrom = job["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert envfrom == [{"secretRef": {"name": secret["metadata"]["name"]}}]


def test_the_chart_values_are_documented() -> None:
    """Every top-level value has its section in docs/kubernetes.md's values table."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    doc = Path(PROJECT_ROOT / "docs" / "kubernetes.md").read_text()
    assert [key for key in values if f"`{key}" not in doc] == []
