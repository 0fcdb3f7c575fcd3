"""TLS contexts for the adapters, built once and shared.

Building a context reads and parses the whole CA bundle (some tens of milliseconds of CPU); made per
delivery, that was a fifth of a busy worker's time (bench `lifecycle`). A context is reused for as long
as its files are unchanged: replacing a CA bundle or client certificate on disk takes effect at the
next delivery, without a restart.
"""

from __future__ import annotations

import os
import ssl
from functools import lru_cache

from adapters.base import DeliveryError


def _stamp(path: str | None) -> int | None:
    if path is None:
        return None
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        raise DeliveryError(f"TLS file {path} does not exist or cannot be read", retryable=False) from None


def client_context(verify: bool | str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """A client context: the system's trust store (True), a CA bundle (a path), or no verification
    (False, for tests only); with a client certificate for mutual TLS when `cert` is given."""
    cafile = verify if isinstance(verify, str) else None
    return _context(verify, cert, key, (_stamp(cafile), _stamp(cert), _stamp(key)))


@lru_cache(maxsize=32)
def _context(verify: bool | str, cert: str | None, key: str | None, _stamps: tuple[int | None, ...]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context
