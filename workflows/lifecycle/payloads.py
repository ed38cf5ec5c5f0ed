"""What a runner is given for each task it claimed: the node, its inputs computed from upstream outputs."""

import functools
import operator

from django.db.models import Q

from workflows.inputs import assemble_inputs
from workflows.models import Task, TaskState


def _feedback_value(task: Task, source_node: str, source_terminal: str):
    """The source's value in the latest earlier run of the workflow where it succeeded, else the file's."""
    previous = (
        Task.objects.filter(
            run__workflow_id=task.run.workflow_id,
            run__created__lt=task.run.created,
            node=source_node,
            state=TaskState.SUCCEEDED,
        )
        .order_by("-run__created")
        .values_list("outputs", flat=True)
        .first()
    )
    if previous is not None and source_terminal in previous:
        return previous[source_terminal]
    saved = Task.objects.filter(run_id=task.run_id, node=source_node).values_list("node_data", flat=True).first()
    return ((saved or {}).get("terminals", {}).get(source_terminal) or {}).get("value")


def task_payloads(tasks: list[Task]) -> list[dict]:
    """What a runner needs to execute each task, with inputs computed from upstream outputs."""
    wanted = []
    for task in tasks:
        parents = {src for sources in task.input_sources.values() for src, _, feedback in sources if not feedback}
        if parents:
            wanted.append(Q(run_id=task.run_id, node__in=parents))
    outputs: dict[tuple[int, str], dict] = {}
    if wanted:  # one query for all the parents of the batch; none for tasks without inputs from others
        outputs = {
            (run_id, node): values or {}
            for run_id, node, values in Task.objects.filter(functools.reduce(operator.or_, wanted)).values_list(
                "run_id", "node", "outputs"
            )
        }
    payloads = []
    for task in tasks:
        feedback = {
            (src, terminal): _feedback_value(task, src, terminal)
            for sources in task.input_sources.values()
            for src, terminal, is_feedback in sources
            if is_feedback
        }
        upstream = {node: values for (run_id, node), values in outputs.items() if run_id == task.run_id}
        payloads.append(
            {
                "task_id": task.pk,
                "lease_id": str(task.lease_id),
                "attempt": task.attempt,
                "run_id": task.run_id,
                "workflow_id": task.run.workflow_id,
                "revision": task.run.revision,
                "node": task.node_data,
                "inputs": assemble_inputs(
                    node=task.node_data, sources=task.input_sources, upstream=upstream, feedback=feedback
                ),
                "requirements": task.requirements,
                "expires_at": task.expires_at.isoformat(),
            }
        )
    return payloads
