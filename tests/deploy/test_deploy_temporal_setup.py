"""The Temporal setup (Job and compose service): exactly CONTRACT §5's search attributes, idempotently.

The script is run for real with `sh`, against a fake `temporal` CLI on PATH that records its calls and
answers as the server would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_support import (
    ADMIN_TOOLS_IMAGE_PREFIX,
    COMPOSE_FILE,
    CONTRACT,
    ENVIRONMENTS,
    SEARCH_ATTRIBUTES,
    SETUP_SCRIPT,
    TEMPORAL_NAMESPACE,
    build,
    find,
    load_yaml,
    pod_spec,
    search_attributes_in,
    split_image,
)

SH = shutil.which("sh")

# A stand-in for the temporal CLI. FAKE_MODE: "fresh" (everything is created), "exists" (everything
# already exists), "flaky" (the first two calls fail to connect), "down" (every call fails).
FAKE_TEMPORAL = r"""#!/bin/sh
echo "$TEMPORAL_ADDRESS $*" >> "$FAKE_LOG"
count=$(wc -l < "$FAKE_LOG")
case "$FAKE_MODE" in
    fresh) exit 0 ;;
    exists) echo "Error: Namespace already exists." >&2; exit 1 ;;
    flaky) if [ "$count" -le 2 ]; then echo "connection refused" >&2; exit 1; fi; exit 0 ;;
    *) echo "context deadline exceeded" >&2; exit 1 ;;
esac
"""


def test_script_creates_exactly_the_search_attributes_of_the_contract() -> None:
    assert search_attributes_in(SETUP_SCRIPT.read_text(encoding="utf-8")) == SEARCH_ATTRIBUTES


def test_contract_names_the_same_search_attributes() -> None:
    """The expected set above is copied from CONTRACT §5: check the copy while the contract is at hand."""
    if not CONTRACT.is_file():
        pytest.skip(f"{CONTRACT} is not beside the repository")
    text = CONTRACT.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("- Search attributes"))
    line += text.split(line, 1)[1].split("\n-", 1)[0]
    assert dict(re.findall(r"`(\w+)` \((\w+)\)", line)) == SEARCH_ATTRIBUTES


def test_attribute_parser_sees_a_wrong_script() -> None:
    lines = SETUP_SCRIPT.read_text(encoding="utf-8").splitlines()
    script = "\n".join(line for line in lines if "DecisionDue" not in line)
    script = script.replace("--name IssuingState --type Keyword", "--name IssuingState --type Text")
    found = search_attributes_in(script + "\nensure operator search-attribute create --name X --type Int\n")
    assert found != SEARCH_ATTRIBUTES
    assert found["IssuingState"] == "Text" and found["X"] == "Int" and "DecisionDue" not in found
    with pytest.raises(AssertionError, match="unrecognised"):
        search_attributes_in("temporal operator search-attribute create --namespace probatio")


def _run(tmp_path: Path, mode: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    assert SH, "sh is needed"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "temporal"
    fake.write_text(FAKE_TEMPORAL, encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    log.touch()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "FAKE_MODE": mode,
        "PROBATIO_TEMPORAL_ADDRESS": "temporal.example:7233",
        "PROBATIO_TEMPORAL_NAMESPACE": TEMPORAL_NAMESPACE,
        "SETUP_ATTEMPTS": "3",
        "SETUP_DELAY_SECONDS": "0",
    }
    result = subprocess.run([SH, str(SETUP_SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False)
    return result, log.read_text(encoding="utf-8").splitlines()


EXPECTED_CALLS = [f"temporal.example:7233 operator namespace create --namespace {TEMPORAL_NAMESPACE}"] + [
    f"temporal.example:7233 operator search-attribute create --namespace {TEMPORAL_NAMESPACE} "
    f"--name {name} --type {kind}"
    for name, kind in SEARCH_ATTRIBUTES.items()
]


def test_script_against_a_fresh_server(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "fresh")
    assert result.returncode == 0, result.stderr
    assert calls == EXPECTED_CALLS


def test_script_is_idempotent(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "exists")
    assert result.returncode == 0, result.stderr
    assert calls == EXPECTED_CALLS
    assert result.stdout.count("already there") == 5


def test_script_retries_while_temporal_starts(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "flaky")
    assert result.returncode == 0, result.stderr
    assert calls == [EXPECTED_CALLS[0]] * 3 + EXPECTED_CALLS[1:]


def test_script_fails_when_temporal_never_answers(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "down")
    assert result.returncode != 0
    assert calls == [EXPECTED_CALLS[0]] * 3
    assert "context deadline exceeded" in result.stderr


def test_script_needs_the_address(tmp_path: Path) -> None:
    assert SH
    env = {"PATH": os.environ["PATH"]}
    result = subprocess.run([SH, str(SETUP_SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "PROBATIO_TEMPORAL_ADDRESS" in result.stderr


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_job_runs_the_script_with_the_nodes_settings(environment: str) -> None:
    resources = build(environment)
    job = find(resources, "Job", "probatio-temporal-setup")
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "OnFailure"
    (container,) = spec["containers"]
    assert container["image"].startswith(ADMIN_TOOLS_IMAGE_PREFIX)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    script_volume = next(name for name, v in volumes.items() if "configMap" in v)
    config_map = find(resources, "ConfigMap", volumes[script_volume]["configMap"]["name"])
    (key,) = config_map["data"]
    assert container["command"] == ["sh", f"{mounts[script_volume]}/{key}"]
    assert config_map["data"][key] == SETUP_SCRIPT.read_text(encoding="utf-8")
    env = {e["name"]: e["valueFrom"]["configMapKeyRef"] for e in container["env"]}
    assert env == {
        name: {"name": "probatio-config", "key": name}
        for name in ("PROBATIO_TEMPORAL_ADDRESS", "PROBATIO_TEMPORAL_NAMESPACE")
    }
    assert job["spec"]["backoffLimit"] >= 1


def test_compose_runs_the_same_script_and_image() -> None:
    compose = load_yaml(COMPOSE_FILE)
    service = compose["services"]["temporal-setup"]
    job = find(build("base"), "Job", "probatio-temporal-setup")
    assert service["image"] == pod_spec(job)["containers"][0]["image"]
    source, target, *_ = service["volumes"][0].split(":")
    assert (COMPOSE_FILE.parent / source).resolve() == SETUP_SCRIPT
    assert service["entrypoint"] == ["sh", target]
    assert service["environment"]["PROBATIO_TEMPORAL_NAMESPACE"] == TEMPORAL_NAMESPACE
    assert split_image(service["image"])[1]  # pinned to a tag
