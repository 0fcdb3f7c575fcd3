"""deploy/compose.yaml: valid against the Compose Specification schema, and wired as the node needs.

The schema is compose-spec's `compose-spec.json` as vendored by the check-jsonschema package
(check_jsonschema/builtin_schemas/vendor/compose-spec.json), so it is read offline.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from deploy_support import (
    ALLOWED_ENV,
    COMPOSE_FILE,
    DEPLOY,
    REPO,
    REQUIRED_ENV,
    TEMPORAL_NAMESPACE,
    is_probatio_image,
    load_yaml,
)

PROBATIO_SERVICES = ("migrate", "worker", "web")


@cache
def compose_validator() -> jsonschema.protocols.Validator:
    pytest.importorskip(
        "check_jsonschema", reason="the compose schema comes from the check-jsonschema package (dev dependency)"
    )
    resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(resource.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator: jsonschema.protocols.Validator = validator_class(schema)
    return validator


def compose_errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in compose_validator().iter_errors(document)
    ]


def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE_FILE)
    return document


def test_compose_file_validates_against_the_compose_schema() -> None:
    assert compose_errors(compose()) == []


BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "unknown service field": lambda c: c["services"]["web"].update(imgae="probatio"),
    "depends_on condition misspelt": lambda c: c["services"]["worker"]["depends_on"]["migrate"].update(
        condition="service_completed"
    ),
    "environment as a number": lambda c: c["services"]["web"].update(environment=8000),
    "unknown top-level field": lambda c: c.update(service={}),
    "healthcheck field misspelt": lambda c: c["services"]["postgres"]["healthcheck"].update(intervall="5s"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_compose_validator_rejects_a_broken_file(breakage: str) -> None:
    document = copy.deepcopy(compose())
    BREAKAGES[breakage](document)
    assert compose_errors(document) != []


def test_the_services_of_one_host() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "temporal", "temporal-setup", *PROBATIO_SERVICES}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["temporal"]["image"].startswith(("temporalio/auto-setup:", "temporalio/server:"))
    for name in PROBATIO_SERVICES:
        assert is_probatio_image(services[name]["image"].split(":")[0]), name
        assert services[name]["command"][0] == name
    assert services["web"]["command"] == ["web", "--host", "0.0.0.0"]


@pytest.mark.parametrize("service", PROBATIO_SERVICES)
def test_probatio_services_get_only_known_settings(service: str) -> None:
    environment = compose()["services"][service]["environment"]
    assert isinstance(environment, dict)
    assert set(environment) <= ALLOWED_ENV, sorted(set(environment) - ALLOWED_ENV)
    assert REQUIRED_ENV[service] <= set(environment), sorted(REQUIRED_ENV[service] - set(environment))
    assert environment["PROBATIO_TEMPORAL_NAMESPACE"] == TEMPORAL_NAMESPACE
    assert environment["PROBATIO_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert environment["PROBATIO_LOG_FORMAT"] == "json"
    assert "@postgres:5432/" in environment["PROBATIO_DATABASE_URL"]


def test_start_order() -> None:
    services = compose()["services"]

    def waits_for(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in services[name]["depends_on"].items()}

    assert waits_for("migrate") == {"postgres": "service_healthy"}
    for name in ("worker", "web"):
        assert waits_for(name) == {
            "migrate": "service_completed_successfully",
            "temporal-setup": "service_completed_successfully",
        }
    assert waits_for("temporal") == {"postgres": "service_healthy"}
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["web"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["migrate"]["restart"] == "no" and services["temporal-setup"]["restart"] == "no"


@pytest.mark.parametrize("service", PROBATIO_SERVICES)
def test_probatio_services_are_hardened(service: str) -> None:
    definition = compose()["services"][service]
    assert definition["read_only"] is True
    assert definition["cap_drop"] == ["ALL"]
    assert "/tmp" in definition["tmpfs"]
    assert definition["user"].split(":")[0] not in ("0", "root")
    assert "no-new-privileges:true" in definition["security_opt"]


def test_files_and_secrets_are_where_the_settings_say() -> None:
    document = compose()
    web = document["services"]["web"]
    environment = web["environment"]
    assert environment["PROBATIO_SIGNING_KEY_FILE"] == f"/run/secrets/{web['secrets'][0]}"
    assert document["secrets"][web["secrets"][0]]["file"].startswith("./secrets/")
    (config,) = web["configs"]
    assert config["target"] == environment["PROBATIO_DIRECTORY_FILE"]
    assert (DEPLOY / document["configs"][config["source"]]["file"]).is_file()
    build = web["build"]
    assert (DEPLOY / build["context"]).resolve() == REPO
    assert (REPO / build["dockerfile"]).is_file()
    # The real key and .env stay out of git.
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert "/secrets/" in ignored and "/.env" in ignored


def test_every_interpolated_variable_is_in_env_example() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{(\w+)", text))
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    listed = {line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")}
    assert used == listed
    # Interpolated secrets are required, never defaulted to something guessable.
    for secret in ("POSTGRES_PASSWORD", "PROBATIO_SESSION_SECRET"):
        assert re.findall(rf"\$\{{{secret}([^}}]*)\}}", text)
        assert all(suffix.startswith(":?") for suffix in re.findall(rf"\$\{{{secret}([^}}]*)\}}", text))
