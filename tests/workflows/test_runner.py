"""The worker's workflow runner (probatio/runner.py): a cached run keeps no reference into the protobuf
activations it was given, so its memory is its own state, not the start activation with its input.

Replays a supervision's recorded second run (a run that waits on its timers, as a cached supervision does) and
looks at the instance the runner made. If an SDK upgrade renames what the runner releases, this fails instead of
the saving being lost without a word (probatio bench open-supervisions measures the saving itself)."""

from __future__ import annotations

import inspect
import random
from pathlib import Path

import pytest
from temporalio.bridge.proto.workflow_activation import UpdateRandomSeed
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._workflow_instance import _WorkflowInstanceImpl

from probatio.node import WORKFLOWS
from probatio.runner import RELEASED, CompactRunner, _ReleasingInstance, _ReleasingRunner
from workflows.model import TransferInput

SUPERVISING = (Path(__file__).parent / "histories"
               / "incoming-recognised-within-the-60-days-supervised-probation-period-en-run2-snapshot-published.json")


class _Recording(CompactRunner):
    """The runner without the sandbox around it, so the instance it makes can be looked at."""

    def __init__(self) -> None:
        super().__init__(_ReleasingRunner())
        self.made: list[WorkflowInstance] = []

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = super().create_instance(det)
        self.made.append(instance)
        return instance


def test_the_sdk_still_sets_what_the_runner_releases() -> None:
    activate = inspect.getsource(_WorkflowInstanceImpl.activate)
    for name in RELEASED:
        assert f"self.{name} = " in activate, f"temporalio no longer sets {name} in activate: review probatio/runner.py"


def test_the_sdk_still_makes_its_generator_only_where_the_runner_expects() -> None:
    # The runner makes the generator from `_current_seed` and ignores what the SDK assigns to `_random`: that
    # holds while the SDK assigns it once, as the instance is made, and keeps every new seed in `_current_seed`.
    source = inspect.getsource(_WorkflowInstanceImpl)
    assert source.count("self._random = ") == 1
    assert "self._random = " in inspect.getsource(_WorkflowInstanceImpl.__init__)
    assert "self._current_seed = " in inspect.getsource(_WorkflowInstanceImpl._apply_update_random_seed)


async def test_a_replayed_supervision_holds_no_part_of_its_activations() -> None:
    runner = _Recording()
    history = WorkflowHistory.from_json(SUPERVISING.stem, SUPERVISING.read_text(encoding="utf-8"))
    await Replayer(workflows=WORKFLOWS, workflow_runner=runner,
                   data_converter=pydantic_data_converter).replay_workflow(history)
    [instance] = runner.made
    assert isinstance(instance, _ReleasingInstance)
    # The run got its input as before: the supervision's handed-over state.
    assert instance._workflow_input is not None
    [started] = instance._workflow_input.args
    assert isinstance(started, TransferInput) and started.snapshot is not None
    # What it keeps of its activations are containers of its own, not the protobuf ones of the activation
    # (a protobuf container or sub-message keeps its whole activation alive).
    assert isinstance(instance._current_internal_flags, list)
    assert isinstance(instance._workflow_input.headers, dict)
    assert isinstance(instance._info.headers, dict) and isinstance(instance._info.raw_memo, dict)


def test_every_instance_shares_one_payload_converter() -> None:
    runner = CompactRunner(_ReleasingRunner())
    factory = pydantic_data_converter._new_payload_converter
    assert runner._shared(factory)() is runner._shared(pydantic_data_converter._new_payload_converter)()


class _Plain(UnsandboxedWorkflowRunner):
    """The SDK's own instance, for comparison."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[WorkflowInstance] = []

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = super().create_instance(det)
        self.made.append(instance)
        return instance


async def _replayed(runner: _Recording | _Plain) -> _WorkflowInstanceImpl:
    history = WorkflowHistory.from_json(SUPERVISING.stem, SUPERVISING.read_text(encoding="utf-8"))
    await Replayer(workflows=WORKFLOWS, workflow_runner=runner,
                   data_converter=pydantic_data_converter).replay_workflow(history)
    [instance] = runner.made
    assert isinstance(instance, _WorkflowInstanceImpl)
    return instance


async def test_a_run_draws_the_same_numbers_as_with_the_sdks_own_generator() -> None:
    ours, sdks = await _replayed(_Recording()), await _replayed(_Plain())
    assert isinstance(ours, _ReleasingInstance) and not isinstance(sdks, _ReleasingInstance)
    # This run drew for the alert it raised (an event's key), and goes on where the SDK's would.
    assert ours._lazy_random is not None
    assert [ours._random.random() for _ in range(3)] == [sdks._random.random() for _ in range(3)]
    # A new seed from the server (`UpdateRandomSeed`) restarts both alike.
    for instance in (ours, sdks):
        instance._apply_update_random_seed(UpdateRandomSeed(randomness_seed=947))
    assert ours._random.getrandbits(128) == sdks._random.getrandbits(128)


def test_a_run_that_never_draws_makes_no_generator() -> None:
    instance = object.__new__(_ReleasingInstance)  # type: ignore[type-abstract]
    instance._lazy_random = None
    instance._random = random.Random(947)  # what the SDK's __init__ does: only the seed is kept (_current_seed)
    assert instance._lazy_random is None


async def test_every_run_reads_the_definitions_signal_and_update_tables() -> None:
    instance = await _replayed(_Recording())
    assert "start_supervision" in instance._updates and "receive" in instance._signals
    with pytest.raises(TypeError):
        instance._updates["added"] = instance._updates["start_supervision"]  # type: ignore[index]
