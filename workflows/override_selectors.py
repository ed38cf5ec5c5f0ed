"""Input overrides checked against a revision without starting a run.

Triggers and timers store overrides to start runs later; checking them when they are set turns a
typo into a 400 at once instead of a failure recorded at the first fire. The rule is run_create's
own (`_apply_overrides`, which only reads: it edits copies of the node objects)."""

from workflows import selectors
from workflows.models import Workflow
from workflows.services.runs import _apply_overrides


def overrides_check(*, workflow: Workflow, revision: str | None, inputs: dict) -> None:
    """Raises InvalidInput (field "inputs") as execute would for these overrides on this revision."""
    sha = selectors.revision_resolve(workflow=workflow, revision=revision)
    _apply_overrides(selectors.workflow_graph(workflow=workflow, sha=sha), inputs)
