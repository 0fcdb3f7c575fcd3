"""What every adapter is: a small base class, its own validated options, and a registry by name.

The directory names an adapter and gives it options as plain YAML; :func:`adapter_for` turns that into a
ready adapter and refuses options the adapter does not understand, naming the bad one, so a typo in the
directory fails when the node starts and not when the first certificate leaves.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from adapters.envelope import SealedEnvelope

# Imported lazily by the registry so `adapters.base` stays importable on its own and has no cycles.
_BUILTIN_MODULES = ("adapters.nodelink", "adapters.ecodex", "adapters.mail", "adapters.post")


@dataclass(frozen=True)
class Attachment:
    """A document sent along with a message: the certificate PDF, the judgment, a breach form."""

    filename: str
    media_type: str
    content: bytes


@dataclass
class OutboundMessage:
    """What an activity hands to an adapter: the sealed envelope and the documents that go with it."""

    sealed: SealedEnvelope
    attachments: list[Attachment] = field(default_factory=list)


class DeliveryResult(BaseModel):
    """The outcome of one delivery attempt, kept in the audit log.

    ``delivered`` is True only when the peer confirmed receipt in the same exchange (the node link does).
    Adapters whose confirmation comes later (e-CODEX evidences, e-mail replies, post) answer False and
    give a ``reference`` under which the later evidence will arrive.
    """

    delivered: bool
    reference: str | None = None
    response: dict[str, Any] = {}


class DeliveryError(Exception):
    """A delivery attempt failed. ``retryable`` says whether trying the same message again may work.

    Not retryable: the peer refused the message itself (bad signature, malformed, too large) — sending
    it again gives the same answer, so a person must look. Retryable: the peer or the path was not
    available (timeouts, connection errors, 5xx, 408, 429).
    """

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class Adapter(ABC):
    """One way of reaching an authority. Subclasses set ``name`` and ``Options`` and implement deliver."""

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    def __init__(self, options: BaseModel) -> None:
        if not isinstance(options, self.Options):
            raise TypeError(f"{type(self).__name__} needs {self.Options.__name__}, got {type(options).__name__}")
        self.options = options

    @abstractmethod
    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        """Send ``message``; return the outcome or raise :class:`DeliveryError`.

        Must be safe to call twice for the same message id: activities retry.
        """


class UnknownAdapter(LookupError):
    """The directory names an adapter that does not exist."""


class AdapterOptionsInvalid(ValueError):
    """The options given to an adapter do not validate; the message names each bad option."""


_registry: dict[str, type[Adapter]] = {}
_builtins_loaded = False

AdapterT = TypeVar("AdapterT", bound=type[Adapter])


def register_adapter(cls: AdapterT) -> AdapterT:
    """Class decorator: make an adapter findable by its ``name``."""
    existing = _registry.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"adapter name {cls.name!r} is already taken by {existing.__qualname__}")
    _registry[cls.name] = cls
    return cls


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)


def adapter_class(name: str) -> type[Adapter]:
    """The adapter class registered under ``name``."""
    _load_builtins()
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise UnknownAdapter(f"no adapter named {name!r}; known adapters: {known}") from None


def validate_options(name: str, options: Mapping[str, Any]) -> BaseModel:
    """Validate raw options for adapter ``name``, raising :class:`AdapterOptionsInvalid` on any problem."""
    cls = adapter_class(name)
    try:
        return cls.Options.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(
            f"option {'.'.join(str(p) for p in err['loc']) or '(all)'!r}: {err['msg']}" for err in exc.errors()
        )
        raise AdapterOptionsInvalid(f"adapter {name!r}: {problems}") from exc


def adapter_for(name: str, options: Mapping[str, Any]) -> Adapter:
    """A ready adapter of kind ``name`` configured with ``options`` (as written in the directory)."""
    return adapter_class(name)(validate_options(name, options))


def adapter_names() -> list[str]:
    """Every registered adapter name, sorted."""
    _load_builtins()
    return sorted(_registry)
