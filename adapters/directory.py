"""Which authority serves which state, and how to reach it: a YAML file an operator edits without code.

A state with one competent authority has one entry. A state with several (by region, postal code, or
kind of measure — Art 3 lets each state split competence) lists them with what each serves; an entry
with no ``postal_codes`` and no ``categories`` is the catch-all. :meth:`Directory.route` picks the most
specific entry that serves the case, so adding a regional authority never requires touching the others.

Each peer state also carries its node's public key (base64 of the raw Ed25519 key), which the inbox uses
to check signatures. See ``adapters/directory.example.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.keys import public_key_from_text

_STATE_CODE = re.compile(r"^[A-Z]{2}$")
# "1000" exact, "L-14*" prefix, "1000-1299" inclusive range of same-length numeric codes.
_RANGE = re.compile(r"^(\d+)-(\d+)$")


class UnknownDestination(LookupError):
    """No authority in the directory serves this state / postal code / category."""


def normalise_postal_code(code: str) -> str:
    """Upper-case without spaces: "l-1470 " and "L-1470" are the same code."""
    return re.sub(r"\s+", "", code).upper()


def _matches_postal(pattern: str, code: str) -> bool:
    pattern = normalise_postal_code(pattern)
    if pattern.endswith("*"):
        return code.startswith(pattern[:-1])
    found = _RANGE.match(pattern)
    if found and code.isdigit():
        low, high = found.groups()
        return len(code) == len(low) and int(low) <= int(code) <= int(high)
    return code == pattern


class Authority(BaseModel):
    """One competent authority (Art 3) and the way to reach it."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    adapter: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)
    languages: list[str] = Field(default_factory=list)
    region: str | None = None
    postal_codes: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)

    def serves_postal_code(self, code: str | None) -> bool | None:
        """True/False if this authority restricts postal codes, None if it serves all of them."""
        if not self.postal_codes:
            return None
        if code is None:
            return False
        normalised = normalise_postal_code(code)
        return any(_matches_postal(p, normalised) for p in self.postal_codes)

    def serves_category(self, category: str | None) -> bool | None:
        """True/False if this authority restricts measure categories, None if it takes all of them."""
        if not self.categories:
            return None
        if category is None:
            return False
        return category in self.categories

    def serves_region(self, region: str | None) -> bool | None:
        if self.region is None or region is None:
            return None
        return self.region.casefold() == region.casefold()


class StateEntry(BaseModel):
    """A member state: its node's public key, its default languages and its authorities."""

    model_config = ConfigDict(extra="forbid")

    public_key: str | None = None
    # PEM certificates the seal on this state's documents must chain to: its node's seal certificate, or
    # the CA (a qualified trust service provider) that issues it. Several are allowed, for a key rollover.
    seal_trust_anchors: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    authorities: list[Authority] = Field(min_length=1)

    @field_validator("public_key")
    @classmethod
    def _key_parses(cls, value: str | None) -> str | None:
        if value is not None:
            public_key_from_text(value)  # fail at load, not at the first incoming message
        return value

    @field_validator("seal_trust_anchors")
    @classmethod
    def _anchors_parse(cls, value: list[str]) -> list[str]:
        for number, text in enumerate(value, start=1):
            try:
                x509.load_pem_x509_certificates(text.encode("ascii"))
            except (ValueError, UnicodeEncodeError) as err:
                raise ValueError(f"seal trust anchor {number} is not a PEM X.509 certificate: {err}") from err
        return value

    @model_validator(mode="after")
    def _unique_codes(self) -> StateEntry:
        codes = [a.code for a in self.authorities]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"authority codes must be unique within a state: {', '.join(duplicates)}")
        return self


class Route(BaseModel):
    """Where a message for a case goes: the authority, the adapter and its options, the languages."""

    model_config = ConfigDict(frozen=True)

    state: str
    authority_code: str
    authority_name: str
    adapter: str
    options: dict[str, Any]
    languages: list[str]


class Directory(BaseModel):
    """The whole directory, keyed by state code (ISO 3166-1 alpha-2, EL for Greece)."""

    model_config = ConfigDict(extra="forbid")

    states: dict[str, StateEntry] = Field(default_factory=dict)

    @field_validator("states")
    @classmethod
    def _state_codes(cls, value: dict[str, StateEntry]) -> dict[str, StateEntry]:
        bad = [code for code in value if not _STATE_CODE.match(code)]
        if bad:
            raise ValueError(f"state codes are two capital letters, not {', '.join(map(repr, bad))}")
        return value

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Directory:
        return cls.model_validate(data)

    @classmethod
    def load(cls, path: Path | str) -> Directory:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: the directory must be a mapping with a 'states' key")
        return cls.from_dict(raw)

    def public_key(self, state: str) -> Ed25519PublicKey | None:
        """The peer node's signing key, or None if the state is unknown or has no node."""
        entry = self.states.get(state)
        if entry is None or entry.public_key is None:
            return None
        return public_key_from_text(entry.public_key)

    def seal_trust_anchors(self, state: str) -> list[str]:
        """The PEM certificates a seal on `state`'s documents must chain to (none: no seal is trusted)."""
        entry = self.states.get(state)
        return list(entry.seal_trust_anchors) if entry is not None else []

    def route(
        self,
        state: str,
        *,
        postal_code: str | None = None,
        category: str | None = None,
        region: str | None = None,
    ) -> Route:
        """The authority that serves a case in ``state``, for the person's postal code and the category.

        Among the authorities that do not exclude the case, the one matching the most criteria wins
        (a regional authority beats the national catch-all); on a tie the first in the file wins, so
        the file's order is the operator's tie-breaker.
        """
        entry = self.states.get(state)
        if entry is None:
            known = ", ".join(sorted(self.states)) or "none"
            raise UnknownDestination(f"no authority for state {state!r} in the directory (states: {known})")

        best: Authority | None = None
        best_score = -1
        for authority in entry.authorities:
            checks = (
                authority.serves_postal_code(postal_code),
                authority.serves_category(category),
                authority.serves_region(region),
            )
            if False in checks:
                continue
            score = sum(1 for c in checks if c)
            if score > best_score:
                best, best_score = authority, score
        if best is None:
            wanted = ", ".join(
                f"{label} {value!r}"
                for label, value in (("postal code", postal_code), ("category", category), ("region", region))
                if value is not None
            )
            hint = f" for {wanted}" if wanted else " (its authorities need a postal code or category)"
            raise UnknownDestination(f"no authority in {state} serves this case{hint}")
        return self._route(state, best)

    def _route(self, state: str, authority: Authority) -> Route:
        return Route(state=state, authority_code=authority.code, authority_name=authority.name,
                     adapter=authority.adapter, options=dict(authority.options),
                     languages=list(authority.languages or self.states[state].languages))

    def route_for(self, state: str, authority: str | None, *, exact: bool = False) -> Route:
        """The route to a named authority of `state` (Art 6(7), 18(1): the one that now holds a case), or the
        state's route when none is named. An authority this directory does not list is reached through the
        state's route (a peer's authority served by the node we know), unless `exact`: a certificate forwarded
        to a competent authority must reach that one."""
        found = self.authority(state, authority) if authority else None
        if found is not None:
            return self._route(state, found)
        if authority and exact:
            raise UnknownDestination(f"{authority} is not an authority of {state} in the directory")
        return self.route(state)

    def authority(self, state: str, code: str) -> Authority | None:
        entry = self.states.get(state)
        return next((a for a in entry.authorities if a.code == code), None) if entry else None

    def same_node(self, state: str, code: str, other: str) -> bool:
        """Art 6(7), 18(1): whether two authorities of `state` are served by the same node: both reached over
        the node link at the same inbox. A case forwarded between them stays on this node and is reassigned."""
        first, second = self.authority(state, code), self.authority(state, other)
        if first is None or second is None:
            return False
        if first.code == second.code:
            return True
        return (first.adapter == second.adapter == "nodelink"
                and bool(first.options.get("url")) and first.options.get("url") == second.options.get("url"))

    def check_adapters(self) -> list[str]:
        """Every problem with adapter names and options, as readable lines (empty when all is well).

        Separate from loading so the directory model does not depend on which adapters are installed;
        the node calls it at start-up and refuses to start on problems.
        """
        from adapters.base import AdapterOptionsInvalid, UnknownAdapter, validate_options

        problems: list[str] = []
        for state, entry in self.states.items():
            for authority in entry.authorities:
                try:
                    validate_options(authority.adapter, authority.options)
                except (UnknownAdapter, AdapterOptionsInvalid) as exc:
                    problems.append(f"{state}/{authority.code}: {exc}")
        return problems
