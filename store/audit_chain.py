"""The audit log's hash chain (store/migrations/0010): verifying it, and pruning rows older than five years
behind a signed checkpoint so that what is left still verifies.

Each row's hash is SHA-256 over the previous row's hash and the row's own content, computed by a trigger
in PostgreSQL (`audit_row_hash`), so no writer can skip it. `verify` walks the rows in chain order and
names the first one that was changed, deleted, or slipped in out of order; the retention sweep runs it
and `probatio audit verify` prints it for the operator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from store.audit import RETENTION_YEARS

# What verify reads of each row: enough to name it to a person, and the database's own recomputation.
_ROWS_SQL = ("SELECT a.id, a.seq, a.at, a.user_name, a.action, a.case_id, a.prev_hash, a.hash,"
             " CASE WHEN a.prev_hash IS NULL THEN NULL ELSE audit_row_hash(a.prev_hash, a) END AS recomputed"
             " FROM audit a ORDER BY a.seq NULLS FIRST, a.id")
_CHECKPOINTS_SQL = "SELECT * FROM audit_checkpoints ORDER BY seq, id"
_GENESIS_SQL = "SELECT audit_genesis() AS genesis"
_HEAD_SQL = "SELECT seq, hash FROM audit_chain_head"
# How many problems a report lists after the first (the first is what matters; the rest give context).
MAX_PROBLEMS = 20
# What a report says of each problem: where the row was in the chain, whose it was, and what is wrong.
PROBLEM_COLUMNS = ("seq", "row id", "at (UTC)", "user", "action", "problem")


@dataclass(frozen=True)
class Problem:
    seq: int | None
    row_id: int | None
    at: datetime | None
    user_name: str
    action: str
    what: str


@dataclass
class ChainReport:
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: bytes | None = None  # the last row's, what an anchor signs
    starts_at: str = "the beginning of the log"
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def checks(self) -> list[tuple[str, str]]:
        """What was checked and what was found, one (check, finding) pair each: how many rows, from where,
        any note, and the verdict last."""
        span = f"seq {self.first_seq}–{self.last_seq}" if self.rows else "no rows"
        found = [("rows checked", f"{self.rows} ({span})"), ("starting from", self.starts_at)]
        found += [("note", n) for n in self.notes]
        found.append(("verdict", "intact: every row is unchanged and in its place" if self.intact else
                      f"NOT INTACT: {len(self.problems)} problem(s); the first is where tampering begins"))
        return found

    def problem_rows(self) -> list[tuple[str, ...]]:
        """One row per problem, the first one first, under PROBLEM_COLUMNS; "-" where a problem has no row."""
        return [(str(p.seq if p.seq is not None else "-"), str(p.row_id if p.row_id is not None else "-"),
                 p.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if p.at else "-", p.user_name or "-",
                 p.action or "-", p.what) for p in self.problems]

    def table(self) -> str:
        """As plain text (the retention sweep's refusal, a failed test): a summary line, then one line per
        problem, the first one first. `probatio audit verify` shows the same as tables (probatio/console.py)."""
        span = f"seq {self.first_seq}–{self.last_seq}" if self.rows else "no rows"
        lines = [f"audit log: {self.rows} rows checked ({span}), starting from {self.starts_at}"]
        lines += [f"note: {n}" for n in self.notes]
        if self.intact:
            lines.append("intact: every row is unchanged and in its place")
            return "\n".join(lines)
        lines.append(f"NOT INTACT: {len(self.problems)} problem(s); the first is where tampering begins")
        header, body = PROBLEM_COLUMNS, self.problem_rows()
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header) - 1)]
        for row in [header, *body]:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
        return "\n".join(lines)


def checkpoint_message(state: str, cp: dict[str, Any]) -> bytes:
    """What the node's key signs: the kind, the last row's place and hash, how many rows went, and when."""
    made_at = cp["made_at"].astimezone(UTC).isoformat() if isinstance(cp["made_at"], datetime) else cp["made_at"]
    return (f"probatio audit checkpoint\nstate={state}\nkind={cp['kind']}\nseq={cp['seq']}\n"
            f"hash={bytes(cp['hash']).hex()}\nrows_deleted={cp['rows_deleted']}\nmade_at={made_at}\n").encode()


def _problem(row: dict[str, Any], what: str) -> Problem:
    return Problem(seq=row.get("seq"), row_id=row.get("id"), at=row.get("at"), user_name=row.get("user_name") or "",
                   action=row.get("action") or "", what=what)


class _Walker:
    """Walks rows in chain order; the same for the CLI (sync) and the retention activity (async)."""

    def __init__(self, genesis: bytes, checkpoints: list[dict[str, Any]], head: dict[str, Any] | None,
                 public_key: Ed25519PublicKey | None, state: str) -> None:
        self.report = ChainReport()
        self.head = head
        self.anchors: dict[int, bytes] = {}
        start_seq, start_hash = 0, genesis
        for cp in checkpoints:
            if public_key is None:
                continue
            try:
                public_key.verify(bytes.fromhex(cp["signature"]), checkpoint_message(state, cp))
            except (InvalidSignature, ValueError):
                self.report.problems.append(Problem(seq=cp["seq"], row_id=None, at=cp["made_at"], user_name="",
                                                    action=f"checkpoint:{cp['kind']}",
                                                    what="checkpoint's signature does not match the node's key"))
                continue
            self.anchors[int(cp["seq"])] = bytes(cp["hash"])
            if cp["kind"] == "pruned" and int(cp["seq"]) >= start_seq:
                start_seq, start_hash = int(cp["seq"]), bytes(cp["hash"])
                self.report.starts_at = (f"the signed checkpoint after seq {start_seq} "
                                         f"({cp['rows_deleted']} rows older than {RETENTION_YEARS} years pruned)")
        if public_key is None and checkpoints:
            self.report.notes.append("checkpoint signatures not checked: the node's signing key is not available")
            pruned = [cp for cp in checkpoints if cp["kind"] == "pruned"]
            if pruned:
                start_seq, start_hash = int(pruned[-1]["seq"]), bytes(pruned[-1]["hash"])
                self.report.starts_at = f"the (unverified) checkpoint after seq {start_seq}"
        self.expected_seq = start_seq + 1
        self.expected_prev = start_hash
        self.previous: dict[str, Any] | None = None

    def add(self, row: dict[str, Any]) -> None:
        report = self.report
        if len(report.problems) > MAX_PROBLEMS:
            return
        report.rows += 1
        if row["seq"] is None or row["hash"] is None:
            report.problems.append(_problem(row, "not in the chain: written with the chain's trigger disabled"))
            return
        seq = int(row["seq"])
        report.first_seq = seq if report.first_seq is None else report.first_seq
        report.last_seq = seq
        stored, prev = bytes(row["hash"]), bytes(row["prev_hash"])
        if seq < self.expected_seq:
            report.problems.append(_problem(row, "inserted out of order: its place is before the row preceding it"
                                            if self.previous is not None else
                                            "inserted out of order: before the signed checkpoint where the log "
                                            "now starts (written after pruning)"))
            return
        if seq > self.expected_seq:
            missing = (f"seq {self.expected_seq}" if seq == self.expected_seq + 1
                       else f"seq {self.expected_seq}–{seq - 1}")
            report.problems.append(_problem(row, f"{missing} deleted just before this row"))
            self.expected_seq, self.expected_prev = seq, prev
        if bytes(row["recomputed"]) != stored:
            report.problems.append(_problem(row, "changed after it was written: its content does not match its hash"))
        elif prev != self.expected_prev:
            if self.previous is not None:
                p = self.previous
                report.problems.append(_problem(p, "changed after it was written (its hash was recomputed to "
                                                   "hide it): the next row no longer links to it"))
            else:
                report.problems.append(_problem(row, "does not link to the start of the chain"))
        if self.previous is not None and row["at"] < self.previous["at"]:
            report.problems.append(_problem(row, "inserted out of order: dated before the row preceding it"))
        if seq in self.anchors and self.anchors[seq] != stored:
            report.problems.append(_problem(row, "differs from the signed checkpoint of this row"))
        self.expected_seq = seq + 1
        self.expected_prev = stored
        self.previous = row
        report.last_hash = stored

    def finish(self) -> ChainReport:
        last = self.expected_seq - 1
        vouched = max((seq for seq in self.anchors if seq > last), default=None)
        if vouched is not None and len(self.report.problems) <= MAX_PROBLEMS:
            # A signed checkpoint vouches for rows the log no longer has: its end was cut (and the chain's end
            # rewritten to hide it, or the check below would say so too).
            self.report.problems.append(Problem(
                seq=last + 1, row_id=None, at=None, user_name="", action="",
                what=f"deleted: a signed checkpoint vouches for the chain up to seq {vouched}, "
                     f"the last row found is seq {last}"))
        head = self.head
        if head is not None and not self.report.problems:
            if int(head["seq"]) > last:
                self.report.problems.append(Problem(
                    seq=last + 1, row_id=None, at=None, user_name="", action="",
                    what=f"deleted: the chain's end says {head['seq']} rows, the last one found is seq {last}"))
            elif int(head["seq"]) == last and bytes(head["hash"]) != self.expected_prev:
                self.report.problems.append(Problem(seq=last, row_id=None, at=None, user_name="", action="",
                                                    what="changed: the last row's hash is not the chain's end"))
        return self.report


def verify(url: str, *, state: str, public_key: Ed25519PublicKey | None) -> ChainReport:
    """Verify the whole chain over one connection (the `probatio audit verify` command)."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        walker = _Walker(_first_value(conn.execute(_GENESIS_SQL).fetchone()),
                         list(conn.execute(_CHECKPOINTS_SQL).fetchall()),
                         conn.execute(_HEAD_SQL).fetchone(), public_key, state)
        with conn.cursor(name="audit_chain") as cur, conn.transaction():
            cur.itersize = 2000
            cur.execute(_ROWS_SQL)
            for row in _as_dicts(cur):
                walker.add(row)
    return walker.finish()


async def verify_pool(pool: AsyncConnectionPool[Any], *, state: str,
                      public_key: Ed25519PublicKey | None) -> ChainReport:
    """The same walk on the node's pool (the retention sweep)."""
    async with pool.connection() as conn:
        genesis = _first_value(await (await conn.execute(_GENESIS_SQL)).fetchone())
        checkpoints = list(await (await conn.execute(_CHECKPOINTS_SQL)).fetchall())
        head = await (await conn.execute(_HEAD_SQL)).fetchone()
        walker = _Walker(genesis, checkpoints, head, public_key, state)
        async with conn.transaction(), conn.cursor(name="audit_chain") as cur:
            await cur.execute(_ROWS_SQL)
            async for row in _as_dicts_async(cur):
                walker.add(row)
    return walker.finish()


async def anchor(pool: AsyncConnectionPool[Any], report: ChainReport, *, state: str, key: Ed25519PrivateKey
                 ) -> dict[str, Any] | None:
    """Sign the end of a chain just found intact (`anchor`, 0010): from now on, cutting rows up to it from
    the log is caught even where the chain's end is rewritten to match. Nothing for an empty or broken chain."""
    if not report.intact or report.last_seq is None or report.last_hash is None:
        return None
    checkpoint = {"kind": "anchor", "seq": report.last_seq, "hash": report.last_hash, "rows_deleted": 0,
                  "made_at": datetime.now(UTC).replace(microsecond=0)}
    signature = key.sign(checkpoint_message(state, checkpoint)).hex()
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO audit_checkpoints (kind, seq, hash, rows_deleted, made_at, signed_by, signature)"
            " VALUES (%(kind)s, %(seq)s, %(hash)s, %(rows_deleted)s, %(made_at)s, %(state)s, %(signature)s)",
            {**checkpoint, "state": state, "signature": signature})
    return {**checkpoint, "signature": signature}


def _first_value(row: Any) -> bytes:
    return bytes(next(iter(row.values())) if isinstance(row, dict) else row[0])


def _as_dicts(rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
    yield from rows


async def _as_dicts_async(cur: Any) -> AsyncIterator[dict[str, Any]]:
    async for row in cur:
        yield row


@dataclass(frozen=True)
class Pruned:
    rows_deleted: int
    last_seq: int | None
    refused: str | None = None


def prune(owner_url: str, *, state: str, key: Ed25519PrivateKey, before: datetime | None = None) -> Pruned:
    """Delete the rows older than five years (or `before`), the oldest first, behind a checkpoint the node's
    key signs: the last deleted row's place and hash and how many went. Runs as the owner (a privileged
    maintenance step: the application's role cannot delete audit rows), and only on an intact chain, so
    that pruning never erases the evidence of tampering."""
    cutoff = before or datetime.now(UTC) - timedelta(days=365 * RETENTION_YEARS + 1)
    report = verify(owner_url, state=state, public_key=key.public_key())
    if not report.intact:
        return Pruned(0, None, refused="the audit chain is not intact; nothing was pruned:\n" + report.table())
    with psycopg.connect(owner_url, autocommit=True, row_factory=dict_row) as conn, conn.transaction():
        # The rows to go are a prefix of the chain: the chain's clock only moves forward.
        boundary = conn.execute("SELECT min(seq) AS seq FROM audit WHERE at >= %s", (cutoff,)).fetchone()
        bound = boundary["seq"] if boundary and boundary["seq"] is not None else None
        last = conn.execute(
            "SELECT seq, hash FROM audit WHERE (%s::bigint IS NULL OR seq < %s) ORDER BY seq DESC LIMIT 1",
            (bound, bound)).fetchone()
        if last is None:
            return Pruned(0, None)
        count = conn.execute("SELECT count(*) AS n FROM audit WHERE seq <= %s", (last["seq"],)).fetchone()
        checkpoint = {"kind": "pruned", "seq": last["seq"], "hash": bytes(last["hash"]),
                      "rows_deleted": int(count["n"]) if count else 0,
                      "made_at": datetime.now(UTC).replace(microsecond=0)}
        signature = key.sign(checkpoint_message(state, checkpoint)).hex()
        conn.execute("INSERT INTO audit_checkpoints (kind, seq, hash, rows_deleted, made_at, signed_by, signature)"
                     " VALUES (%(kind)s, %(seq)s, %(hash)s, %(rows_deleted)s, %(made_at)s, %(state)s, %(signature)s)",
                     {**checkpoint, "state": state, "signature": signature})
        conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_update")
        conn.execute("DELETE FROM audit WHERE seq <= %s", (last["seq"],))
        conn.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_update")
        conn.execute("INSERT INTO audit (user_name, role, action, detail) VALUES ('maintenance', 'system',"
                     " 'audit_pruned', jsonb_build_object('through_seq', %s::bigint, 'rows_deleted', %s::bigint))",
                     (last["seq"], checkpoint["rows_deleted"]))
    return Pruned(int(checkpoint["rows_deleted"]), int(last["seq"]))
