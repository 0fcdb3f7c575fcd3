"""The node link: a signed HTTPS POST from one probatio node to another's ``/api/v1/inbox``.

The peer verifies the signature, stores the message and answers in the same exchange, so a 2xx is a
confirmed delivery. The peer answers a repeated ``message_id`` with its first answer, which is what makes
retrying after a timeout safe: the message may have arrived, and sending it again changes nothing.

Attachments are not sent separately: on this link the payload carries everything the peer needs.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
from opentelemetry import propagate
from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.base import Adapter, DeliveryError, DeliveryResult, OutboundMessage, register_adapter
from adapters.tls import client_context

# The peer refused this message itself: sending it again gives the same answer.
_FINAL_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 410, 413, 415, 422})
# The peer is busy or timed out before reading: worth another try later.
_RETRY_STATUSES = frozenset({408, 425, 429})


class NodeLinkOptions(BaseModel):
    """Options for the ``nodelink`` adapter, as written in the directory."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://", description="the peer's /api/v1/inbox")
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    verify: bool | str = Field(
        default=True,
        description="verify the peer's certificate: True, False (tests only) or a CA bundle path",
    )
    cert: str | None = Field(default=None, description="client certificate (PEM) for mutual TLS")
    key: str | None = Field(default=None, description="private key of the client certificate, if not in cert")

    @model_validator(mode="after")
    def _key_needs_cert(self) -> NodeLinkOptions:
        if self.key is not None and self.cert is None:
            raise ValueError("'key' is given without 'cert'")
        return self

    def ssl_context(self) -> ssl.SSLContext:
        """The shared context for these settings (see adapters/tls.py)."""
        return client_context(self.verify, self.cert, self.key)


def _json_or_text(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"status": response.status_code, "text": response.text[:2000]}
    return data if isinstance(data, dict) else {"status": response.status_code, "body": data}


@register_adapter
class NodeLinkAdapter(Adapter):
    """POST the sealed envelope to the peer node and classify its answer."""

    name = "nodelink"
    Options = NodeLinkOptions
    options: NodeLinkOptions

    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        options = self.options
        sealed = message.sealed
        headers = {**sealed.headers, "Content-Type": "application/json"}
        # The trace continues on the peer's inbox (W3C traceparent; outside the signature, no personal data).
        propagate.inject(headers)
        try:
            async with httpx.AsyncClient(
                verify=options.ssl_context(), timeout=options.timeout_seconds, follow_redirects=False
            ) as client:
                response = await client.post(options.url, content=sealed.body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"no answer from {options.url} within {options.timeout_seconds} s", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"could not reach {options.url}: {exc!r}", retryable=True) from exc
        except (ssl.SSLError, OSError) as exc:
            # A broken local TLS setup (missing client key, unreadable bundle) will not fix itself.
            raise DeliveryError(f"TLS setup for {options.url} failed: {exc}", retryable=False) from exc

        answer = _json_or_text(response)
        status = response.status_code
        if 200 <= status < 300:
            reference = answer.get("message_id") if isinstance(answer.get("message_id"), str) else None
            return DeliveryResult(delivered=True, reference=reference or sealed.envelope.message_id, response=answer)
        detail = answer.get("detail") or answer.get("reason") or answer.get("text") or ""
        text = f"{options.url} answered {status}" + (f": {detail}" if detail else "")
        if status >= 500 or status in _RETRY_STATUSES:
            raise DeliveryError(text, retryable=True, status=status)
        if status in _FINAL_STATUSES or 300 <= status < 500:
            raise DeliveryError(text, retryable=False, status=status)
        raise DeliveryError(text, retryable=True, status=status)
