"""deploy/Dockerfile, linted by reading it (no Docker engine where the tests run)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass

import pytest
from deploy_support import DEPLOY, DOCKERFILE, REPO

# The PDF font (ReportLab embeds it; nothing else on the image needs a system library).
SYSTEM_PACKAGES = {"fonts-dejavu-core"}
BASE_IMAGE = "python:3.11-slim"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str
    stage: int


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped; stage counts FROMs from 0."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, argument = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, argument.strip(), stage))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def problems(text: str) -> list[str]:
    """What is wrong with a Dockerfile for probatio; empty when nothing is."""
    found: list[str] = []
    instructions = parse(text)
    stages = [i for i in instructions if i.keyword == "FROM"]
    if not stages:
        return ["no FROM"]
    for stage in stages:
        if stage.argument.split()[0] != BASE_IMAGE:
            found.append(f"stage from {stage.argument}, not {BASE_IMAGE}")
    final = [i for i in instructions if i.stage == len(stages) - 1]
    runs = " ".join(i.argument for i in instructions if i.keyword == "RUN")
    final_runs = " ".join(i.argument for i in final if i.keyword == "RUN")
    missing = {
        p for p in SYSTEM_PACKAGES if not re.search(rf"apt-get install\b[^&;]*\s{re.escape(p)}\b", final_runs)
    }
    if missing:
        found.append(f"final image lacks apt packages {sorted(missing)}")
    if not re.search(r"""\bpip install (?:[^&;]*\s)?["']?\.(?:\[[\w,-]+\])?["']?(?:\s|$)""", runs):
        found.append("no `pip install .`")
    users = [i.argument for i in final if i.keyword == "USER"]
    if not users:
        found.append("no USER in the final stage: it would run as root")
    else:
        user = users[-1].split(":")[0]
        if user in ("root", "0"):
            found.append(f"runs as root ({users[-1]})")
        elif not user.isdigit():
            found.append(f"USER {users[-1]} is not numeric: Kubernetes' runAsNonRoot cannot verify a name")
    if any(i.keyword == "HEALTHCHECK" for i in instructions):
        found.append("HEALTHCHECK in the image (probes belong to where it runs)")
    entrypoints = [i.argument for i in final if i.keyword == "ENTRYPOINT"]
    if not entrypoints or json.loads(entrypoints[-1]) != ["probatio"]:
        found.append('ENTRYPOINT is not ["probatio"]')
    return found


def test_dockerfile_is_sound() -> None:
    assert problems(DOCKERFILE.read_text(encoding="utf-8")) == []


GOOD = DOCKERFILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("broken", "complaint"),
    [
        (GOOD.replace("USER 10001:10001", "USER root"), "runs as root"),
        (GOOD.replace("USER 10001:10001", "USER 0"), "runs as root"),
        (GOOD.replace("USER 10001:10001", "USER probatio"), "not numeric"),
        (GOOD.replace("USER 10001:10001", ""), "no USER"),
        (GOOD + "\nHEALTHCHECK CMD probatio healthcheck worker\n", "HEALTHCHECK"),
        (GOOD.replace("fonts-dejavu-core ", ""), "fonts-dejavu-core"),
        (GOOD.replace("FROM python:3.11-slim\n", "FROM python:3.12\n"), "not python:3.11-slim"),
        (GOOD.replace("pip install .", "pip install probatio"), "pip install ."),
        (GOOD.replace('ENTRYPOINT ["probatio"]', 'ENTRYPOINT ["python"]'), "ENTRYPOINT"),
    ],
)
def test_lint_catches_a_broken_dockerfile(broken: str, complaint: str) -> None:
    assert broken != GOOD
    assert any(complaint in p for p in problems(broken)), problems(broken)


def test_copied_sources_exist_and_pass_the_dockerignore() -> None:
    copies = [i.argument for i in parse(GOOD) if i.keyword == "COPY" and "--from" not in i.argument]
    sources = [source for argument in copies for source in shlex.split(argument)[:-1]]
    assert {"pyproject.toml", "probatio", "forms", "workflows", "activities", "adapters", "store", "web"} <= set(
        sources
    )
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for source in sources:
        assert (REPO / source).exists(), source
        assert source in allowed, f"{source} is excluded by Dockerfile.dockerignore"


def test_packages_copied_are_the_packages_built() -> None:
    """The image must hold every package pyproject's wheel target lists and its readme, or the build fails."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    copied = {
        source
        for i in parse(GOOD)
        if i.keyword == "COPY" and "--from" not in i.argument
        for source in shlex.split(i.argument)[:-1]
    }
    assert packages <= copied, sorted(packages - copied)
    assert pyproject["project"]["readme"] in copied
