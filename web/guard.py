"""Bounded input and uncached answers, for every route at once (issue 15, item 6).

- Every request body is capped before it is read whole: a declared Content-Length over the route's cap is
  refused at once, and a chunked body is counted as it streams in and refused with 413 the moment it
  passes the cap, so a 400 MB upload never reaches memory; what streams in past the size of a message
  without documents is kept in a temporary file until the body is whole. The node-link inbox and the uploads take the
  sizes adapters/envelope.py documents; everything else `Settings.max_body_bytes`.
- A JSON body nested deeper than MAX_JSON_DEPTH answers 422 naming the body, before any parser recurses.
- Every answer but the static files carries `Cache-Control: no-store`: answers of the API and the pages
  carry personal data, and no browser or proxy cache may keep them.
- Before the memory: a body larger than the default (a document upload, an e-mail's upload) is read only
  from someone showing credentials (a Bearer token or the session cookie; the route then checks them), and
  the node-link inbox, whose sender proves itself by the signature over the whole body, holds at most
  LARGE_INBOX_BODIES bodies past the size of a message without documents at once; another is told to come
  back (503, Retry-After), which a sending node does with back-off. So memory held for unauthenticated
  senders is bounded, not one envelope with documents per connection.

Plain ASGI, outermost in the app, so no route can read a body before the cap applies.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters import envelope
from adapters.mail import MAX_EMAIL_BYTES
from forms.documents import MAX_DOCUMENT_BYTES
from web.errors import PROBLEM_JSON, problem_body

# Deeper than any form the project knows (a certificate is about 6 levels), shallow enough that no
# recursive parser or validator comes near Python's recursion limit.
MAX_JSON_DEPTH = 64
# The upload of a message that came by e-mail or post: the envelope (or the .eml carrying it) and its
# signature file, plus what multipart adds around them.
_MULTIPART_ALLOWANCE = 128 * 1024
# The largest e-mail the e-mail adapter writes (its documents twice, base64), in a multipart upload.
EMAIL_UPLOAD_BYTES = MAX_EMAIL_BYTES + _MULTIPART_ALLOWANCE
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def body_cap(method: str, path: str, default: int, headers: Mapping[str, str] | None = None) -> int:
    """The largest body this route takes."""
    if path == "/api/v1/inbox":
        # An envelope that says it carries the judgment and other documents (Art 6(1)) may be larger; one
        # without documents is held to the smaller cap (adapters.envelope.envelope_limit).
        return envelope.envelope_limit(headers or {})
    if path == "/api/v1/inbox/upload":
        return EMAIL_UPLOAD_BYTES
    if method == "POST" and path.endswith("/documents"):
        return MAX_DOCUMENT_BYTES + _MULTIPART_ALLOWANCE
    return default


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests deeper than `limit`, counted without parsing (strings removed first, so
    a bracket inside a string does not count)."""
    depth = 0
    for b in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if b in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _as_json(body: bytes) -> bytes | None:
    """The body as UTF-8 if it may be JSON, else None. `json.loads` also reads UTF-16 and UTF-32 and skips a
    byte-order mark (RFC 8259 §8.1 lets a reader do so), so the depth is measured on what it would read."""
    encoding = json.detect_encoding(body)
    if encoding not in ("utf-8", "utf-8-sig"):
        try:
            body = body.decode(encoding).encode("utf-8")
        except UnicodeError:
            return None
    body = body.removeprefix(codecs.BOM_UTF8).lstrip()
    return body if body[:1] in (b"{", b"[") else None


INBOX_PATH = "/api/v1/inbox"
# How many inbox bodies larger than a message without documents are held at once (each up to
# MAX_ENVELOPE_WITH_DOCUMENTS_BYTES): certificates with their judgment are a few a day, never a crowd.
LARGE_INBOX_BODIES = 2
INBOX_BUSY_RETRY_SECONDS = 30


def shows_credentials(scope: Scope, session_cookie: str | None) -> bool:
    """Whether the request carries a Bearer token or the session cookie at all (before asking whether they
    are valid, which needs the database)."""
    headers = dict(scope.get("headers") or [])
    if headers.get(b"authorization", b"")[:7].lower() == b"bearer ":
        return True
    cookies = headers.get(b"cookie", b"")
    return session_cookie is not None and f"{session_cookie}=".encode() in cookies


# Whether the credentials a request shows are valid (a token or a session that exists and is not revoked).
Authenticate = Callable[[Scope], Awaitable[bool]]


# Told of each refusal (scope, status, reason): the node link's inbox audits what it refused.
OnRefused = Callable[[Scope, int, str], Awaitable[None]]


class GuardedRequests:
    def __init__(self, app: ASGIApp, *, default_cap: Callable[[], int], on_refused: OnRefused | None = None,
                 session_cookie: str | None = None, authenticate: Authenticate | None = None) -> None:
        self.app = app
        self.default_cap = default_cap
        self.on_refused = on_refused
        self.session_cookie = session_cookie
        self.authenticate = authenticate
        self.large_inbox_bodies = asyncio.Semaphore(LARGE_INBOX_BODIES)

    async def _refuse(self, scope: Scope, send: Send, status: int, code: str, detail: object, reason: str) -> None:
        # Recorded before the answer: a sender (or a test) that reads the audit log once answered finds it there.
        if self.on_refused is not None:
            await self.on_refused(scope, status, reason)
        await _answer(send, status, code, detail)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if not path.startswith("/static/"):
            send = _no_store(send)
        default = self.default_cap()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        cap = body_cap(str(scope.get("method", "GET")), path, default, headers)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = f"the body may be at most {cap} bytes"
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await self._refuse(scope, send, 413, "too_large", too_large, "body too large")
            return
        if cap > default and path != INBOX_PATH and not (
                shows_credentials(scope, self.session_cookie)
                and (self.authenticate is None or await self.authenticate(scope))):
            await self._refuse(scope, send, 401, "unauthorized",
                               "sign in, or send a valid Bearer token, before sending documents", "no credentials")
            return
        async with contextlib.AsyncExitStack() as held:
            # Read the body here, counting: within the cap it is handed on whole; past it, refused at once.
            # Past the size of a message without documents it goes to a temporary file as it streams, so a
            # body that turns out too large (400 MB, unauthenticated) never held more than that in memory.
            chunks = held.enter_context(tempfile.SpooledTemporaryFile(max_size=envelope.MAX_ENVELOPE_BYTES))
            size = 0
            more = True
            large = False
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > cap:
                    await self._refuse(scope, send, 413, "too_large", too_large, "body too large")
                    return
                if path == INBOX_PATH and not large and size > envelope.MAX_ENVELOPE_BYTES:
                    large = True
                    if self.large_inbox_bodies.locked():
                        await _answer(send, 503, "busy", "other messages with documents are being received: "
                                      f"send again in {INBOX_BUSY_RETRY_SECONDS} s",
                                      [(b"retry-after", str(INBOX_BUSY_RETRY_SECONDS).encode())])
                        return
                    await held.enter_async_context(self.large_inbox_bodies)  # until the inbox is done with it
                chunks.write(chunk)
                more = bool(message.get("more_body", False))
            chunks.seek(0)
            body = chunks.read()
            await self._pass_on(scope, receive, send, body)

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        as_json = _as_json(body) if body else None
        if as_json is not None and json_depth_exceeds(as_json):
            deep = f"is nested more than {MAX_JSON_DEPTH} levels deep"
            await self._refuse(scope, send, 422, "invalid", [{"path": "body", "reason": deep}], f"body {deep}")
            return
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _no_store(send: Send) -> Send:
    async def with_header(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).setdefault("Cache-Control", "no-store")
        await send(message)

    return with_header


async def _answer(send: Send, status: int, code: str, detail: object,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """An error as every answer writes it (RFC 9457 problem details). The server discards the rest of the
    body as it arrives (never keeping it), so the client, which reads the answer once it has sent
    everything, gets this 413."""
    body = orjson.dumps(problem_body(status, detail, code))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
