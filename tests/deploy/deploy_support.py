"""What the deploy tests share: where things are, the facts of the application, and small readers."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import kustomize_lite
import yaml
from kustomize_lite import Resource

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
        "PROBATIO_SIGNING_KEY_FILE",
        "PROBATIO_DIRECTORY_FILE",
        "PROBATIO_PUBLIC_URL",
        "PROBATIO_SESSION_SECRET",
        "PROBATIO_LOG_FORMAT",
        "PROBATIO_OTEL_EXPORTER_OTLP_ENDPOINT",
        "PROBATIO_WEB_PORT",
        "PROBATIO_METRICS_PORT",
        "PROBATIO_WORKER_CACHED_WORKFLOWS",
    }
)
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


@functools.cache
def _build(environment: str) -> tuple[Resource, ...]:
    return tuple(kustomize_lite.build(K8S / environment))


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
    templates = list(kustomize_lite.pod_templates(workload))
    assert len(templates) == 1
    spec: dict[str, Any] = templates[0]["spec"]
    return spec


def is_probatio_image(image: str) -> bool:
    name = kustomize_lite.split_image(image)[0]
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
