"""The one "is the run done?" step: a run ends when its last task is final."""

from django.utils import timezone

from nodeworks_server import hot_sql
from workflows.models import UNFINISHED_TASK_STATES, Run, RunState, Task, TaskState

# The states are literals so that the partial index of unfinished tasks serves a generic plan too.
_UNFINISHED_TASK_OF_RUN = (
    f"SELECT 1 FROM {Task._meta.db_table} WHERE run_id = %(run)s "  # noqa: S608 (constants only)
    f"AND state IN ({', '.join(repr(str(state)) for state in UNFINISHED_TASK_STATES)}) LIMIT 1"
)


def run_finish_if_done(*, run_id: int) -> None:
    """Finishes the run once every task is final.

    Called only AFTER the transaction that ended a task has committed (see `_then_finish_run`):
    of two transactions ending a run's last two tasks at once, the one that commits second then
    looks after the other committed and sees every task final. Checked inside the transactions,
    each would see the other's task still unfinished (READ COMMITTED) and the run would stay
    running; locking the run row instead would serialise every result of a run behind one lock
    held across each commit. Two finishers at once write once: the update is conditional.
    """
    # Asked after every result: written out, the ORM's query building cost more than the lookup.
    if hot_sql.fetch(_UNFINISHED_TASK_OF_RUN, {"run": run_id}):
        return
    states = set(Task.objects.filter(run_id=run_id).values_list("state", flat=True).distinct())
    if TaskState.CANCELLED in states:
        final = RunState.CANCELLED
    elif states & {TaskState.FAILED, TaskState.UPSTREAM_FAILED}:
        final = RunState.FAILED
    else:
        final = RunState.SUCCEEDED
    Run.objects.filter(pk=run_id, state=RunState.RUNNING).update(state=final, finished=timezone.now())
