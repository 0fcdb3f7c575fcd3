"""Adapters are found by the name the directory uses, with their options checked."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from adapters import base
from adapters.base import (
    Adapter,
    AdapterOptionsInvalid,
    DeliveryResult,
    OutboundMessage,
    UnknownAdapter,
    adapter_for,
    adapter_names,
    register_adapter,
)
from adapters.nodelink import NodeLinkAdapter, NodeLinkOptions


def test_builtin_adapters_are_registered() -> None:
    assert {"nodelink", "ecodex", "email", "post"} <= set(adapter_names())


def test_adapter_for_validates_and_builds() -> None:
    adapter = adapter_for("nodelink", {"url": "https://be.example/api/v1/inbox", "timeout_seconds": 5})
    assert isinstance(adapter, NodeLinkAdapter)
    assert isinstance(adapter.options, NodeLinkOptions)
    assert adapter.options.timeout_seconds == 5


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"url": "https://x", "timeout": 5}, "'timeout'"),
        ({"url": "ftp://x"}, "'url'"),
        ({}, "'url'"),
        ({"url": "https://x", "timeout_seconds": "soon"}, "'timeout_seconds'"),
        ({"url": "https://x", "key": "/k.pem"}, "without 'cert'"),
    ],
)
def test_bad_options_are_named(options: dict[str, object], named: str) -> None:
    with pytest.raises(AdapterOptionsInvalid) as caught:
        adapter_for("nodelink", options)
    assert named in str(caught.value)
    assert "nodelink" in str(caught.value)


def test_unknown_adapter_lists_the_known_ones() -> None:
    with pytest.raises(UnknownAdapter, match=r"fax.*nodelink"):
        adapter_for("fax", {})


def test_a_new_adapter_plugs_in_without_touching_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter_names()  # load the built-ins, then give this test a registry copy it may pollute
    monkeypatch.setattr(base, "_registry", dict(base._registry))

    class CourierOptions(BaseModel):
        depot: str

    @register_adapter
    class CourierAdapter(Adapter):
        name = "test-courier"
        Options = CourierOptions

        async def deliver(self, message: OutboundMessage) -> DeliveryResult:
            return DeliveryResult(delivered=False, reference="parcel-1")

    assert "test-courier" in adapter_names()
    assert isinstance(adapter_for("test-courier", {"depot": "Bettembourg"}), CourierAdapter)
    with pytest.raises(ValueError, match="already taken"):

        @register_adapter
        class Impostor(CourierAdapter):
            pass


def test_an_adapter_refuses_options_of_another_kind() -> None:
    class Elsewhere(BaseModel):
        url: str = "https://x"

    with pytest.raises(TypeError, match="NodeLinkOptions"):
        NodeLinkAdapter(Elsewhere())
