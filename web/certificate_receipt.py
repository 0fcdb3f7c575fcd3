"""The electronic seal of a received certificate PDF, as the intake checked it (intake/certificate_pdf.py),
for the API detail and the case page."""

from __future__ import annotations

from typing import Any

from store import seals


async def seal_view(pool: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    """The seal check of the certificate PDF an incoming case holds, for the API detail and the case page:
    `{"status": valid|invalid|untrusted|unsigned, "signer", "signed_at", "detail", "checked_at"}`; None
    for an outgoing case or one that received no PDF."""
    if row.get("direction") != "incoming":
        return None
    found = await seals.latest(pool, row["id"])
    if found is None:
        return None
    return {"status": found["status"], "signer": found["signer"],
            "signed_at": found["signed_at"].isoformat() if found["signed_at"] else None,
            "detail": found["detail"], "checked_at": found["checked_at"].isoformat()}
