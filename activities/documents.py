"""Rendering certificates in worker processes of their own.

Laying out a certificate is pure Python (forms/pdf.py, some tens of milliseconds): in a thread it would
hold the interpreter lock and stall the worker's event loop (other activities, heartbeats, the HTTP of
deliveries). A small process pool keeps the loop free and uses every core of the machine.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

_pool: ProcessPoolExecutor | None = None


def _render_pdf(certificate: dict[str, Any], lang: str, issued_at: datetime | None) -> bytes:
    from forms.annex1 import Certificate
    from forms.render import render_certificate

    return render_certificate(Certificate.model_validate(certificate), lang, "pdf", issued_at)


def _warm_up() -> None:
    from forms.pdf import fonts
    from forms.render import render_certificate  # noqa: F401 - templates and models, once per process

    fonts()  # reads the TrueType files once per process, not per certificate


def render_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # "spawn": the worker process has threads (Temporal's core), which fork would copy half-alive.
        _pool = ProcessPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                    mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up)
    return _pool


async def render_certificate_pdf(certificate: dict[str, Any], lang: str, issued_at: datetime | None = None) -> bytes:
    """The certificate as PDF/A-3b; `issued_at` (the approval) is its creation date."""
    return await asyncio.get_running_loop().run_in_executor(render_pool(), _render_pdf, certificate, lang, issued_at)
