"""`probatio certificate|breach example|schema|validate|render`: exit codes, one line per problem, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., int]


def _write(tmp_path: Path, content: str | bytes, name: str = "doc.json") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_example_is_valid_json_that_validates(cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli("certificate", "example") == 0
    example = json.loads(capsys.readouterr().out)
    assert example["issuing_state"] == "LU" and example["executing_state"] == "BE"
    assert cli("certificate", "validate", _write(tmp_path, json.dumps(example)), "--executing", "BE") == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "valid" in captured.err


def test_example_for_other_states(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("certificate", "example", "--issuing", "LU", "--executing", "DE") == 0
    example = json.loads(capsys.readouterr().out)
    assert example["executing_state"] == "DE" and example["language"] == "de"


def test_schema(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("certificate", "schema") == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"issuing_state", "executing_state", "language", "measures", "person"} <= set(schema["properties"])
    # The confidence tags travel in the schema, so the [U] fields are visible to whoever re-keys the form.
    assert "confidence" in json.dumps(schema)
    assert cli("breach", "schema") == 0
    assert "breaches" in json.loads(capsys.readouterr().out)["properties"]


def test_invalid_certificate_lists_each_problem(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, cert_data: dict[str, Any]
) -> None:
    del cert_data["person"]["surname"]
    cert_data["measures"][4]["hours"] = "many"
    cert_data["language"] = "it"
    assert cli("certificate", "validate", _write(tmp_path, json.dumps(cert_data))) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "person.surname: required (the certificate is incomplete without it: Art 11(1)(a))",
        "measures[4].hours: must be a whole number",
    ]


def test_rule_errors_and_warnings(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, cert_data: dict[str, Any]
) -> None:
    cert_data["language"] = "it"
    cert_data["measures"][5]["duration_days"] = 100
    assert cli("certificate", "validate", _write(tmp_path, json.dumps(cert_data)), "--today", "2026-06-01") == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "language: BE does not accept 'it' for the certificate (Art 21); accepted: fr, nl, de, en"
    ]
    assert "warning: measures[5].duration_days:" in captured.err


GARBAGE: list[tuple[str, bytes]] = [
    ("not json", b"certificate: yes\n"),
    ("empty", b""),
    ("binary", bytes(range(256))),
    ("a list", b"[1, 2, 3]"),
    ("a string", b'"hello"'),
    ("null", b"null"),
    ("nested deeply", b"[" * 100_000 + b"]" * 100_000),
    ("wrong types", json.dumps({"issuing_state": 1, "measures": "all", "person": [], "judgment": True}).encode()),
    ("huge strings", json.dumps({"person": {"surname": "x" * 1_000_000}, "<script>": "x"}).encode()),
    ("huge numbers", json.dumps({"measures": [{"category": "i", "description": "x", "hours": 10**400}]}).encode()),
    ("NaN", b'{"offences": {"count": NaN}}'),
]


@pytest.mark.parametrize("content", [g[1] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
@pytest.mark.parametrize("kind", ["certificate", "breach"])
def test_validate_never_tracebacks(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, content: bytes
) -> None:
    assert cli(kind, "validate", _write(tmp_path, content)) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    lines = captured.out.splitlines()
    assert lines and all(": " in line and len(line) < 300 for line in lines)


def test_missing_file_and_usage_errors(cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    assert cli("certificate", "validate", missing) == 2
    assert capsys.readouterr().out.strip() == f"{missing}: cannot read: No such file or directory"
    assert cli("certificate", "validate") == 2
    assert cli("certificate") == 2
    assert cli("certificate", "render", missing, "--lang", "xx", "--format", "pdf") == 2
    assert cli("certificate", "validate", missing, "--executing", "UK") == 2
    assert cli("certificate", "validate", missing, "--today", "yesterday") == 2


def test_render_html_and_exports(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, cert_data: dict[str, Any]
) -> None:
    source = _write(tmp_path, json.dumps(cert_data))
    out = tmp_path / "cert.html"
    assert cli("certificate", "render", source, "--lang", "de", "--format", "html", "-o", str(out)) == 0
    assert "BESCHEINIGUNG" in out.read_text(encoding="utf-8")
    assert cli("certificate", "render", source, "--lang", "en", "--format", "xml", "-o", str(tmp_path / "c.xml")) == 0
    assert (tmp_path / "c.xml").read_bytes().startswith(b"<?xml")


def test_render_refuses_a_broken_document(cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    assert cli("certificate", "render", _write(tmp_path, "{}"), "--lang", "en", "--format", "pdf", "-o", str(out)) == 1
    assert "person: required" in capsys.readouterr().out
    assert not out.exists()


def test_breach_commands(cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli("breach", "example") == 0
    report = capsys.readouterr().out
    source = _write(tmp_path, report)
    assert cli("breach", "validate", source) == 0
    out = tmp_path / "breach.html"
    assert cli("breach", "render", source, "--lang", "fr", "--format", "html", "-o", str(out)) == 0
    assert "FORMULAIRE" in out.read_text(encoding="utf-8")


def test_standalone_module_renders_a_pdf(tmp_path: Path) -> None:
    """End to end in a fresh process, as a user runs it: example, then render to PDF."""
    example = subprocess.run(
        [sys.executable, "-m", "forms.cli", "certificate", "example"], capture_output=True, check=True
    )
    source = _write(tmp_path, example.stdout)
    out = tmp_path / "cert.pdf"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "forms.cli",
            "certificate",
            "render",
            source,
            "--lang",
            "fr",
            "--format",
            "pdf",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert out.read_bytes().startswith(b"%PDF")


def test_schemas_name_every_code_in_words(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    """An integrator finds "sabotage" or "therapeutic treatment" in the schema, beside its code, and the
    schema still accepts exactly the codes it did."""
    import jsonschema

    from forms.examples import example_breach, example_certificate
    from forms.law import ListOffence, MeasureCategory

    for form, example in (("certificate", example_certificate), ("breach", example_breach)):
        assert cli(form, "schema") == 0
        schema = json.loads(capsys.readouterr().out)
        for name, definition in schema["$defs"].items():
            assert "enum" not in definition, f"{form}: {name} lists codes without words"
        valid = example("LU", "BE").model_dump(mode="json")
        jsonschema.validate(valid, schema)
        if form == "certificate":
            offences = {o["const"]: o["title"] for o in schema["$defs"]["ListOffence"]["oneOf"]}
            assert set(offences) == {o.value for o in ListOffence} and offences["32"] == "sabotage"
            categories = {c["const"]: c["title"] for c in schema["$defs"]["MeasureCategory"]["oneOf"]}
            assert set(categories) == {c.value for c in MeasureCategory}
            assert "therapeutic treatment" in categories["k"]
            broken = json.loads(json.dumps(valid))
            broken["measures"][0]["category"] = "z"
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(broken, schema)
