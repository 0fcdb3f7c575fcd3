"""`probatio certificate …` and `probatio breach …` (CONTRACT §1).

The main CLI calls `register(subparsers)` and then `sys.exit(args.func(args))`. Exit codes:
0 valid (warnings go to stderr), 1 invalid (one `PATH: reason` line per problem on stdout),
2 usage error or unreadable file. Nothing a file holds may produce a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from forms.annex1 import Certificate
from forms.annex2 import BreachReport
from forms.examples import example_breach, example_certificate, judgment_of_its_own
from forms.labels import RENDER_LANGUAGES
from forms.law import MEMBER_STATES
from forms.render import export_json, export_xml, render_breach, render_certificate
from forms.schema import json_schema
from forms.validation import Problem, errors, validate_breach, validate_certificate

# A certificate is a few dozen kilobytes; anything far larger is a mistake or an attack.
MAX_FILE_BYTES = 5_000_000

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _Unreadable(Exception):
    """The file could not be read or is not JSON: reported as one line, never a traceback."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.line = line
        self.code = code


def _read_json(name: str) -> object:
    try:
        if name == "-":
            raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with Path(name).open("rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _Unreadable(f"{name}: cannot read: {exc.strerror or exc}", EXIT_USAGE) from None
    if len(raw) > MAX_FILE_BYTES:
        raise _Unreadable(f"{name}: file too large (more than {MAX_FILE_BYTES} bytes)", EXIT_INVALID)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Unreadable(f"{name}: not UTF-8 text", EXIT_INVALID) from None
    except json.JSONDecodeError as exc:
        raise _Unreadable(
            f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", EXIT_INVALID
        ) from None
    except RecursionError:
        raise _Unreadable(f"{name}: not valid JSON: nested too deeply", EXIT_INVALID) from None


def _oneline(text: str) -> str:
    # One problem, one line: a path or message may quote user data.
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _report(problems: list[Problem]) -> int:
    for problem in problems:
        if problem.severity == "warning":
            print(_oneline(f"warning: {problem}"), file=sys.stderr)
    bad = errors(problems)
    for problem in bad:
        print(_oneline(str(problem)))
    if bad:
        return EXIT_INVALID
    print(f"valid ({len(problems)} warning{'s' if len(problems) != 1 else ''})", file=sys.stderr)
    return EXIT_VALID


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except _Unreadable as exc:
            print(_oneline(exc.line))
            return exc.code
        except Exception as exc:
            print(_oneline(f"{getattr(args, 'file', '(input)')}: cannot process: {type(exc).__name__}: {exc}"))
            return EXIT_INVALID

    return run


def _today(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a date as YYYY-MM-DD") from None


def _write(out: str | None, data: bytes) -> None:
    if out is None or out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            Path(out).write_bytes(data)
        except OSError as exc:
            raise _Unreadable(f"{out}: cannot write: {exc.strerror or exc}", EXIT_USAGE) from None


def _example_certificate(issuing: str, executing: str, *, own_judgment: bool) -> Certificate:
    cert = example_certificate(issuing, executing)
    if not own_judgment:
        return cert
    judgment = cert.judgment.model_copy(update={"reference": judgment_of_its_own(cert.judgment.reference)})
    return cert.model_copy(update={"judgment": judgment})


def _print_json(model: BaseModel) -> int:
    sys.stdout.write(export_json(model).decode("utf-8") + "\n")
    return EXIT_VALID


def _schema(model: type[BaseModel]) -> int:
    print(json.dumps(json_schema(model), indent=2, ensure_ascii=False))
    return EXIT_VALID


def _certificate_validate(args: argparse.Namespace) -> int:
    data = _read_json(args.file)
    return _report(validate_certificate(data, executing=args.executing, today=args.today))


def _breach_validate(args: argparse.Namespace) -> int:
    data = _read_json(args.file)
    return _report(validate_breach(data, today=args.today))


def _render(
    args: argparse.Namespace,
    validate: Callable[[object], list[Problem]],
    model: type[Certificate] | type[BreachReport],
    render: Callable[[Any, str, Any], bytes],
) -> int:
    data = _read_json(args.file)
    problems = validate(data)
    try:
        doc = model.model_validate(data)
    except ValueError:
        # Structurally broken: there is nothing to lay out.
        return _report(problems)
    for problem in errors(problems):
        # A draft may be rendered for review; say loudly that it could not be sent as it is.
        print(_oneline(f"warning: not valid yet: {problem}"), file=sys.stderr)
    if args.format == "json":
        output = export_json(doc)
    elif args.format == "xml":
        output = export_xml(doc)
    else:
        output = render(doc, args.lang, args.format)
    _write(args.output, output)
    return EXIT_VALID


def _certificate_render(args: argparse.Namespace) -> int:
    return _render(args, lambda d: validate_certificate(d), Certificate, render_certificate)


def _breach_render(args: argparse.Namespace) -> int:
    return _render(args, lambda d: validate_breach(d), BreachReport, render_breach)


def _add_group(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    title: str,
    *,
    example: Callable[[argparse.Namespace], int],
    schema: Callable[[argparse.Namespace], int],
    validate: Callable[[argparse.Namespace], int],
    render: Callable[[argparse.Namespace], int],
    executing_option: bool,
) -> None:
    group = subparsers.add_parser(name, help=title, description=title)
    actions = group.add_subparsers(dest=f"{name}_action", metavar="ACTION", required=True)

    ex = actions.add_parser("example", help=f"print a complete, valid {name} as JSON")
    ex.add_argument("--issuing", default="LU", choices=MEMBER_STATES, help="issuing State (default LU)")
    ex.add_argument("--executing", default="BE", choices=MEMBER_STATES, help="executing State (default BE)")
    if executing_option:
        ex.add_argument("--own-judgment", action="store_true",
                        help="give the judgment a reference of its own: a judgment is transferred to one "
                             "executing State at a time (Art 6(5)), so each run of a walk-through needs its own")
    ex.set_defaults(func=_guarded(example))

    sc = actions.add_parser("schema", help=f"print the JSON Schema of the {name}")
    sc.set_defaults(func=_guarded(schema))

    va = actions.add_parser("validate", help="exit 0 if valid, else 1 with one 'PATH: reason' line per problem")
    va.add_argument("file", metavar="FILE", help="JSON file ('-' for standard input)")
    if executing_option:
        va.add_argument("--executing", choices=MEMBER_STATES, help="check against this executing State")
    va.add_argument("--today", type=_today, default=None, help="the date to check against (default: today)")
    va.set_defaults(func=_guarded(validate))

    re_ = actions.add_parser("render", help="render in a language, as PDF or HTML (or export JSON/XML)")
    re_.add_argument("file", metavar="FILE", help="JSON file ('-' for standard input)")
    re_.add_argument("--lang", required=True, choices=RENDER_LANGUAGES, help="language of the form's labels")
    re_.add_argument("--format", required=True, choices=("pdf", "html", "json", "xml"))
    re_.add_argument("-o", "--output", metavar="OUT", help="output file (default: standard output)")
    re_.set_defaults(func=_guarded(render))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `certificate` and `breach` command groups to the project's argparse CLI."""
    _add_group(
        subparsers,
        "certificate",
        "the Annex I certificate (Art 6)",
        example=lambda a: _print_json(_example_certificate(a.issuing, a.executing, own_judgment=a.own_judgment)),
        schema=lambda a: _schema(Certificate),
        validate=_certificate_validate,
        render=_certificate_render,
        executing_option=True,
    )
    _add_group(
        subparsers,
        "breach",
        "the Annex II report of a breach (Art 17)",
        example=lambda a: _print_json(example_breach(a.issuing, a.executing)),
        schema=lambda a: _schema(BreachReport),
        validate=_breach_validate,
        render=_breach_render,
        executing_option=False,
    )


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (`python -m forms.cli`), for use before the main CLI exists."""
    parser = argparse.ArgumentParser(prog="probatio")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
