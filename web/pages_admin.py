"""The supervisor's dashboard (ICOTS's due-date and overdue reports, statistics by state, month, sex and
age group, with exports) and the auditor's pages (the audit log, everything held about one person)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from store import audit, cases, retention, statistics
from store.users import User
from web import i18n, labels
from web.auth import check_csrf
from web.cases import summary
from web.errors import ApiError, problems
from web.i18n import N_, Message, Translator
from web.page_parts import read_date
from web.pages_charts import bar_chart, stacked_columns
from web.pages_common import SignedIn, node_of, render, require_role

router = APIRouter(include_in_schema=False)


def _period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    out: list[datetime | None] = []
    for name, raw in (("since", since), ("until", until)):
        if not raw:
            out.append(None)
            continue
        try:
            value = datetime.fromisoformat(raw)
        except ValueError as err:
            raise ApiError(422, problems((name, Message(N_("must be a date (YYYY-MM-DD)"))))) from err
        out.append(value if value.tzinfo else value.replace(tzinfo=UTC))
    if out[0] is not None and out[1] is not None and out[1] <= out[0]:
        # A period that ends before it starts holds nothing: say so rather than show empty charts.
        raise ApiError(422, problems(("until", Message(N_("the end of the period must come after its start")))))
    return out[0], out[1]


# --- a period or a date asked as the wizard asks a date: day, month and year --------------------------------

_DATE_PARTS = ("day", "month", "year")


def _page_date(query: Any, name: str, t: Translator) -> tuple[str, str, list[str]]:
    """A date a page sent as the wizard sends one (`name-day`, `name-month`, `name-year`), or as one ISO value
    (a link's or the API's way, `?since=2026-01-01`): the ISO value the routes take ("" when none), a message
    in `t`'s language for one that cannot be read, and what the boxes show back (year, month, day as typed)."""
    typed = {f"{name}-{p}": str(query.get(f"{name}-{p}") or "").strip() for p in _DATE_PARTS}
    if any(typed.values()):
        value, problem = read_date(typed, name, t)
        return value or "", problem, [typed[f"{name}-year"], typed[f"{name}-month"], typed[f"{name}-day"]]
    raw = str(query.get(name) or "").strip()
    if not raw:
        return "", "", ["", "", ""]
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return "", t.gettext("must be a date (YYYY-MM-DD)"), ["", "", ""]
    return raw, "", [f"{when.year:04d}", f"{when.month:02d}", f"{when.day:02d}"]


def _page_period(query: Any, t: Translator) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """The period of the dashboard or the audit log as its page asks it: the ISO `since` and `until` the routes
    take, messages by field (a date that cannot be read; an end that does not come after the start, beside
    the end) and what each field's boxes show back."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    for name in ("since", "until"):
        values[name], problem, parts[name] = _page_date(query, name, t)
        if problem:
            errors[name] = problem
    if not errors and values["since"] and values["until"]:
        try:
            _period(values["since"], values["until"])
        except ApiError:
            errors["until"] = t.gettext("the end of the period must come after its start")
    return values, errors, parts


def _date_field(name: str, label: str, parts: dict[str, list[str]], hint: str = "") -> dict[str, Any]:
    """What `_wizard_field.html.j2` takes to show one date as day, month and year boxes."""
    return {"f": {"path": name, "kind": "date", "required": False}, "id": name, "label": label,
            "value": "", "parts": parts.get(name) or ["", "", ""], "hint": hint}


async def dashboard_data(pool: Any, user: User, since: datetime | None = None,
                         until: datetime | None = None) -> dict[str, Any]:
    """What the dashboard page, its exports and `GET /api/v1/dashboard` show: all from PostgreSQL."""
    data = await cases.dashboard(pool, user.authorities, datetime.now(UTC), since=since, until=until)
    return {
        "by_stage": data["by_stage"],
        "by_state": data["by_state"],
        # Decisions and duties (`due_name`: "decision" or the duty's deadline, `due`: when).
        "decisions_due_soon": [{**summary(r), "due": r["due"].isoformat(), "due_name": r["due_name"]}
                               for r in data["decisions_due_soon"]],
        "overdue": [summary(r) for r in data["overdue"]],
        # Art 17: open cases whose breach report waits for a decision on what follows.
        "breach_reports": [summary(r) for r in data["breach_reports"]],
        "totals": data["totals"],
        "statistics": data["statistics"],
    }


def _charts(data: dict[str, Any], t: Translator) -> dict[str, Any]:
    def direction(code: str) -> str:
        return labels.label(labels.DIRECTIONS, code, t)

    stage_bars = [(f"{direction(r['direction'])}: {labels.label(labels.STAGES, r['stage'], t)}", r["n"])
                  for r in data["by_stage"]]
    state_bars = [(f"{direction(r['direction'])}: {r['state']}", r["n"]) for r in data["by_state"]]
    stats = data["statistics"]
    months = sorted({r["month"] for r in stats["by_month"]})
    month_series = [(direction(d), [sum(r["total"] for r in stats["by_month"] if r["month"] == m
                                        and r["direction"] == d) for m in months]) for d in ("outgoing", "incoming")]
    person_series = [(labels.label(labels.SEXES, sex, t),
                      [sum(r["total"] for r in stats["by_sex_and_age"] if r["sex"] == sex and r["age_group"] == g)
                       for g in statistics.AGE_GROUPS])
                     for sex in statistics.SEXES]
    age_groups = [labels.label(labels.AGE_GROUPS, g, t) if g in labels.AGE_GROUPS else g
                  for g in statistics.AGE_GROUPS]
    return {
        "stage": bar_chart(t.gettext("Open and closed cases by stage"), stage_bars, empty=t.gettext("no data yet")),
        "state": bar_chart(t.gettext("Cases by partner state"), state_bars, colour="#009E73",
                           empty=t.gettext("no data yet")),
        "month": stacked_columns(t.gettext("Transfers started per month"),
                                 [labels.month_label(m, t) for m in months], month_series,
                                 empty=t.gettext("no data")),
        "person": stacked_columns(t.gettext("Sentenced persons by age group and sex"), age_groups,
                                  person_series, width=640, empty=t.gettext("no data")),
    }


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, session: SignedIn) -> Response:
    # The period as day, month and year boxes (`since-day` …), or ISO dates in a link (`?since=2026-01-01`).
    t = i18n.for_request(request)
    values, errors, parts = _page_period(request.query_params, t)
    fields = [_date_field("since", t.gettext("Cases started from"), parts),
              _date_field("until", t.gettext("until (exclusive)"), parts)]
    context: dict[str, Any] = {
        "csv_tables": CSV_TABLES, "since": values["since"], "until": values["until"], "fields": fields,
        "messages": {k: [v] for k, v in errors.items()},
        "found": [(k, x["label"], errors[k]) for k, x in zip(("since", "until"), fields, strict=True) if k in errors],
        "age_groups": statistics.AGE_GROUPS, "sexes": statistics.SEXES}
    if errors:
        # Nothing is counted over a period that cannot be read: the form again, the message beside the box.
        return render(request, "dashboard.html.j2", session, status_code=422, data=None, charts=None, **context)
    start, end = _period(values["since"] or None, values["until"] or None)
    data = await dashboard_data(node_of(request).pool, session.user, start, end)
    return render(request, "dashboard.html.j2", session, data=data, charts=_charts(data, t), **context)


def _tables(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The exportable tables: counts only, no names (an export must not become a list of people)."""
    stats = data["statistics"]
    return {"by_stage": data["by_stage"], "by_state": stats["by_state"], "by_month": stats["by_month"],
            "by_sex_and_age": stats["by_sex_and_age"],
            "decisions_due_soon": [{k: r[k] for k in ("id", "stage", "issuing_state", "executing_state",
                                                      "due_name", "due")} for r in data["decisions_due_soon"]],
            "overdue": [{k: r[k] for k in ("id", "stage", "issuing_state", "executing_state", "decision_due",
                                           "alerts")} for r in data["overdue"]]}


# The tables a CSV can hold one at a time, one row per group or per case, with named columns.
CSV_TABLES = {"by_state": N_("by partner State"), "by_month": N_("by month"),
              "by_sex_and_age": N_("by sex and age group"), "by_stage": N_("by stage"),
              "decisions_due_soon": N_("decisions and duties due soon"), "overdue": N_("overdue")}


@router.get("/dashboard/export.{fmt}")
async def export(request: Request, session: SignedIn, fmt: str, since: str | None = None,
                 until: str | None = None, table: str | None = None) -> Response:
    start, end = _period(since, until)
    node = node_of(request)
    if fmt not in EXPORT_FORMATS:
        raise ApiError(404, Message(N_("Exports are .csv, .json or .xlsx.")))
    if fmt == "csv" and table and table not in CSV_TABLES:
        raise ApiError(422, problems(("table", Message(N_("must be one of %(tables)s"), tables=", ".join(CSV_TABLES)))))
    data = await dashboard_data(node.pool, session.user, start, end)
    tables = _tables(data)
    await _audit_export(node.pool, session.user, fmt, table, start, end)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    name = f"probatio-{node.settings.state.lower()}-statistics-{stamp}"
    if fmt == "json":
        body = json.dumps(tables, indent=2, default=str).encode()
        return Response(body, media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
    if fmt == "csv" and table:
        # One table as a spreadsheet opens it: a header of named columns, one row per group or per case.
        rows = tables[table]
        columns = list(rows[0].keys()) if rows else []
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}-{table}.csv"'})
    if fmt == "csv":
        # One row per case started in the period, named columns: what a spreadsheet opens as a table.
        return StreamingResponse(_case_csv(node.pool, session.user, start, end), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{name}-cases.csv"'})
    if fmt == "xlsx":
        from openpyxl import Workbook  # type: ignore[import-untyped]

        book = Workbook()
        book.remove(book.active)  # type: ignore[arg-type]
        for table, rows in tables.items():
            sheet = book.create_sheet(table[:31])
            columns = list(rows[0].keys()) if rows else ["(no rows)"]
            sheet.append(columns)
            for row in rows:
                sheet.append([_cell(row.get(c)) for c in columns])
        buffer = io.BytesIO()
        book.save(buffer)
        return Response(buffer.getvalue(),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    raise ApiError(404, Message(N_("Exports are .csv, .json or .xlsx.")))


# What an export can be: every table (json, xlsx), one table or one row per case (csv).
EXPORT_FORMATS = ("csv", "json", "xlsx")


async def _audit_export(pool: Any, user: User, fmt: str, table: str | None, since: datetime | None,
                        until: datetime | None) -> None:
    """An export leaves the system with the cases' ids, stages and, per case, sex and age group: who took
    what, over which period, is recorded like a read (Act of 1 August 2018: who consulted what, when)."""
    what = table or ("cases" if fmt == "csv" else "all tables")
    async with pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                           case_id=None, action="statistics_exported",
                           purpose=audit.PURPOSE_OF_ROLE.get(user.role),
                           detail={"format": fmt, "table": what, "since": since.isoformat() if since else None,
                                   "until": until.isoformat() if until else None})


async def _case_csv(pool: Any, user: User, since: datetime | None, until: datetime | None) -> AsyncIterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(statistics.CASE_COLUMNS)
    async for row in statistics.case_rows(pool, user.authorities, since=since, until=until):
        writer.writerow([_cell(row[c]) for c in statistics.CASE_COLUMNS])
        if out.tell() > 64_000:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # A spreadsheet would run it as a formula (CSV injection); keep it text.
        return "'" + value
    return value


# --- the auditor ---------------------------------------------------------------------------------

async def read_audit_log(pool: Any, reader: User, *, case_id: str | None, user_name: str | None,
                         action: str | None, since: datetime | None, until: datetime | None, limit: int,
                         offset: int = 0, via: str) -> list[dict[str, Any]]:
    """The audit log as the auditor may see it: their authorities' rows (every row only for a node-wide
    auditor, `probatio users create … --node-wide`). Reading it is itself audited."""
    if reader.role != "auditor":
        raise ApiError(403, Message(N_("the audit log is for the auditor, not the %(role)s"),
                                    role=Message(labels.ROLES.get(reader.role, reader.role))))
    rows = await audit.entries(pool, case_id=case_id, user_name=user_name, action=action, since=since, until=until,
                               limit=limit, offset=offset, within=None if reader.node_wide else reader.authorities)
    filters = {k: v for k, v in (("case", case_id), ("user", user_name), ("action", action),
                                 ("since", since.isoformat() if since else None),
                                 ("until", until.isoformat() if until else None)) if v}
    async with pool.connection() as conn:
        await audit.record(conn, user_name=reader.name, role=reader.role, authority=",".join(reader.authorities),
                           # A short case id is a filter, not a case: it stays in the filters.
                           case_id=case_id if case_id and len(case_id) == audit.CASE_ID_CHARS else None,
                           action="audit_log_read", purpose=audit.Purpose.AUDIT,
                           detail={"via": via, "filters": filters, "rows": len(rows),
                                   "node_wide": reader.node_wide})
    return rows


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request, session: SignedIn, case: str | None = None, user: str | None = None,
                     action: str | None = None) -> Response:
    # From and until as day, month and year boxes (`since-day` …), or ISO dates in a link (`?since=2026-01-01`).
    t = i18n.for_request(request)
    values, errors, parts = _page_period(request.query_params, t)
    fields = [_date_field("since", t.gettext("From"), parts),
              _date_field("until", t.gettext("Until (exclusive)"), parts)]
    context: dict[str, Any] = {
        "filters": {"case": case or "", "user": user or "", "action": action or "", **values}, "fields": fields,
        "messages": {k: [v] for k, v in errors.items()},
        "found": [(k, x["label"], errors[k]) for k, x in zip(("since", "until"), fields, strict=True) if k in errors]}
    if errors:
        require_role(session, "auditor", what=N_("The audit log"))
        return render(request, "audit.html.j2", session, status_code=422, rows=[], **context)
    start, end = _period(values["since"] or None, values["until"] or None)
    rows = await read_audit_log(node_of(request).pool, session.user, case_id=case or None, user_name=user or None,
                                action=action or None, since=start, until=end, limit=500, via="page")
    return render(request, "audit.html.j2", session, rows=rows, **context)


@router.get("/audit/person", response_class=HTMLResponse)
async def person_form(request: Request, session: SignedIn) -> Response:
    require_role(session, "auditor", what=N_("The export of data about a person"))
    return render(request, "person.html.j2", session, errors={}, values={}, born_parts=["", "", ""], found=[])


async def person_export(pool: Any, user: User, surname: str, forenames: str | None, born: date,
                        via: str) -> dict[str, Any]:
    """Everything held about one person in the reader's authorities' cases (the node's, for a node-wide
    auditor); the export itself is audited, without the searched name."""
    if user.role != "auditor":
        raise ApiError(403, f"the export of data about a person is for the auditor, not the {user.role}")
    found = await retention.data_about_person(pool, surname=surname, forenames=forenames, date_of_birth=born,
                                              within=None if user.node_wide else user.authorities)
    async with pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                           case_id=None, action="person_data_export", purpose=audit.Purpose.SUBJECT_ACCESS,
                           detail={"via": via, "cases": [c["id"] for c in found["cases"]],
                                   "drafts": len(found["drafts"])})
    export = {"surname": surname, "forenames": forenames, "date_of_birth": born.isoformat(),
              "exported_at": datetime.now(UTC).isoformat(), **found}
    data: dict[str, Any] = json.loads(json.dumps(export, default=str))
    return data


@router.post("/audit/person")
async def person_download(request: Request, session: SignedIn) -> Response:
    require_role(session, "auditor", what=N_("The export of data about a person"))
    form = await request.form()
    check_csrf(session, form)
    t = i18n.for_request(request)
    values = {k: str(form.get(k) or "").strip() for k in ("surname", "forenames")}
    errors: dict[str, str] = {}
    if not values["surname"]:
        errors["surname"] = t.gettext("the surname is required")
    # The date of birth as the wizard asks it (day, month and year), or as one ISO value (`date_of_birth`).
    typed = {f"date_of_birth-{p}": str(form.get(f"date_of_birth-{p}") or "").strip() for p in _DATE_PARTS}
    born_parts = [typed["date_of_birth-year"], typed["date_of_birth-month"], typed["date_of_birth-day"]]
    born = None
    if any(typed.values()):
        iso, problem = read_date(typed, "date_of_birth", t)
        if problem:
            errors["date_of_birth"] = problem
        elif iso:
            born = date.fromisoformat(iso)
    elif str(form.get("date_of_birth") or "").strip():
        try:
            born = date.fromisoformat(str(form.get("date_of_birth")).strip())
            born_parts = [f"{born.year:04d}", f"{born.month:02d}", f"{born.day:02d}"]
        except ValueError:
            errors["date_of_birth"] = t.gettext("the date of birth is required, as YYYY-MM-DD")
    if born is None and "date_of_birth" not in errors:
        errors["date_of_birth"] = t.gettext("the date of birth is required")
    if errors or born is None:
        labels_of = {"surname": ("a-surname", t.gettext("Surname")),
                     "date_of_birth": ("a-date_of_birth", t.gettext("Date of birth"))}
        found = [(*labels_of[k], errors[k]) for k in labels_of if k in errors]
        return render(request, "person.html.j2", session, status_code=422, errors=errors, values=values,
                      born_parts=born_parts, found=found)
    data = await person_export(node_of(request).pool, session.user, values["surname"],
                               values["forenames"] or None, born, "page")
    return Response(json.dumps(data, indent=2, ensure_ascii=False).encode(), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="person-data.json"'})
