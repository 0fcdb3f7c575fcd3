"""The workflow runner of a node's worker: the SDK's sandbox, holding less per cached workflow.

A worker keeps every cached run's workflow instance for as long as the run is cached: for a supervision, months
of waiting on a timer. The Python SDK (temporalio 1.35, temporalio/worker/_workflow.py `_create_workflow_instance`
and _workflow_instance.py `activate`, `_make_workflow_input`) keeps, in each instance, references to protobuf
sub-messages of the activations it was given: the headers, memo and last completion result of the activation that
started the run (`WorkflowInstanceDetails`, `Info`, `ExecuteWorkflowInput.headers`) and the internal flags and
deployment version of the last one. A sub-message keeps its whole message's arena alive (upb), so a cached run
holds the start activation, with the run's input in it, and the last activation, all for a few bytes of headers
and flags. Measured with `probatio bench open-supervisions`: about 25 KiB per cached supervision, about 12 KiB
per bare waiting workflow (README.md, "Memory of a worker").

Here those references are replaced by copies of their own (small messages, arenas of their own) as the instance
is made and after each activation, and every instance shares one payload converter instead of making its own
(with its own cache of pydantic TypeAdapters). What a workflow sees is unchanged: the same values, the same
sandbox (`SandboxedWorkflowRunner`, whose `runner_class` is the documented way to choose how the instance is
made inside it). The attributes released after an activation are private to the SDK: `RELEASED` names them and
tests/workflows/test_runner.py fails when an SDK upgrade renames one, rather than the saving going quietly.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import temporalio.converter
import temporalio.workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import (
    UnsandboxedWorkflowRunner,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.worker._workflow_instance import _WorkflowInstanceImpl
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

M = TypeVar("M")

# Attributes of the SDK's workflow instance that refer into the last activation's protobuf arena, set by its
# `activate` (temporalio/worker/_workflow_instance.py). Released after each activation.
RELEASED = ("_current_completion", "_current_internal_flags", "_deployment_version_for_current_task", "_workflow_input")


def _own(message: M) -> M:
    """A copy of a protobuf message in an arena of its own: it keeps nothing else alive."""
    copy: Any = type(message)()
    copy.CopyFrom(message)
    return copy  # type: ignore[no-any-return]


def _own_all(messages: Mapping[str, M]) -> dict[str, M]:
    return {key: _own(value) for key, value in messages.items()}


class _ReleasingInstance(_WorkflowInstanceImpl):
    """The SDK's workflow instance (made inside the sandbox), which lets go of its activation once done with it,
    shares its definition's handler tables and seeds its random generator only when a run first draws from it."""

    def __init__(self, det: WorkflowInstanceDetails) -> None:
        self._lazy_random: random.Random | None = None
        super().__init__(det)
        # The SDK copies the definition's tables so that handlers can be added while a run goes on
        # (`workflow.set_signal_handler`, `set_update_handler`); ours never do, so every run reads the
        # definition's own, read-only: adding one would raise rather than change the other runs. (The
        # queries table stays a copy: the SDK puts the run's own stack-trace queries in it.)
        self._signals = MappingProxyType(self._defn.signals)  # type: ignore[assignment]
        self._updates = MappingProxyType(self._defn.updates)  # type: ignore[assignment]

    # The SDK seeds a Mersenne Twister (2.5 KiB of state) for every run as it is made, and seeds it again on
    # each new seed (`_apply_update_random_seed`, which sets `_current_seed` too). A cached supervision that
    # waits for months never draws from it, so it is made here from the current seed when first used: the
    # same numbers, since seeding resets the whole state of the generator.
    @property
    def _random(self) -> random.Random:
        if self._lazy_random is None:
            # Not for secrets: the deterministic numbers of a workflow (`workflow.random()`), as the SDK makes them.
            self._lazy_random = random.Random(self._current_seed)  # nosec B311
        return self._lazy_random

    @_random.setter
    def _random(self, generator: random.Random) -> None:
        self._lazy_random = None  # the SDK's own, made in its __init__ from the seed it also keeps

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        completion = super().activate(act)
        # The completion just returned stays the instance's current one until the next activation (with the
        # commands and payloads it carried); Core has it serialised by now. An empty one of its own takes its
        # place: the SDK may still add to it when an evicted run's coroutines are closed.
        self._current_completion = WorkflowActivationCompletion()
        # Read again by the next activation only when a flag is asked for: a plain list answers `in` the same.
        self._current_internal_flags = list(self._current_internal_flags)  # type: ignore[assignment]
        self._deployment_version_for_current_task = _own(self._deployment_version_for_current_task)
        started = self._workflow_input
        if started is not None and not isinstance(started.headers, dict):
            # The start job's headers map, kept for the run's life in the input handed to interceptors.
            started.headers = _own_all(started.headers)
        return completion


class _ReleasingRunner(UnsandboxedWorkflowRunner):
    """The runner the sandbox uses inside itself (`SandboxedWorkflowRunner.runner_class`)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ReleasingInstance(det)  # type: ignore[abstract]  # as the SDK's own runner makes it


class CompactRunner(WorkflowRunner):
    """Hands the sandbox instance details that refer to no activation, with one shared payload converter."""

    def __init__(self, sandbox: WorkflowRunner) -> None:
        super().__init__()
        self.sandbox = sandbox  # the SDK's sandbox (or, in a test, the runner used inside it)
        self._converters: dict[Callable[[], temporalio.converter.PayloadConverter],
                               temporalio.converter.PayloadConverter] = {}

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        self.sandbox.prepare_workflow(defn)

    def set_worker_level_failure_exception_types(self, types: Any) -> None:
        self.sandbox.set_worker_level_failure_exception_types(types)

    def _shared(self, factory: Callable[[], temporalio.converter.PayloadConverter]
                ) -> Callable[[], temporalio.converter.PayloadConverter]:
        # A payload converter keeps no state of a run (one given a serialization context is a new object), so
        # every instance may use the same one; made once per factory, i.e. per worker's data converter.
        if factory not in self._converters:
            self._converters[factory] = factory()
        converter = self._converters[factory]
        return lambda: converter

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        info = dataclasses.replace(det.info, headers=_own_all(det.info.headers), raw_memo=_own_all(det.info.raw_memo))
        det = dataclasses.replace(det, info=info, last_completion_result=_own(det.last_completion_result),
                                  payload_converter_factory=self._shared(det.payload_converter_factory))
        return self.sandbox.create_instance(det)


def workflow_runner() -> CompactRunner:
    """The sandbox, with our own deterministic modules passed through: their pydantic models must be the
    same classes inside and outside it, or a Deadline made in a workflow fails validation outside."""
    return CompactRunner(SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "forms", "pydantic",
                                                                           __name__),
        runner_class=_ReleasingRunner))
