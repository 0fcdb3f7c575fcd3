"""Stages, outcomes and alerts live with the law in `forms.stages`; re-exported here for the workflows."""

from forms.stages import Alert, ExecutingStage, IssuingStage, Outcome, Side

__all__ = ["Alert", "ExecutingStage", "IssuingStage", "Outcome", "Side"]
