"""The one lock order of the task/run state machine: the RUN ROW first, then its TASK ROWS.

Every transaction that decides on a run's state or a task's `cancel_requested` and then changes
tasks takes the run row first (`run_lock`, FOR NO KEY UPDATE on PostgreSQL): run_cancel,
_run_requeue, task_fail, task_lose, task_cancelled and the user's task_cancel. So a cancel and a
failure (or a lost lease, or a requeue) of the same run never interleave: whichever locks the run
second re-reads what the first committed and decides on it, and no transaction holds a task row
while it waits for a run row (no deadlock). NO KEY: it does not block the foreign-key checks of
rows that point at the run (FOR UPDATE would).

Three writers take task rows without the run row, on purpose, and need not: the claim (queued →
leased, a conditional UPDATE that skips locked rows and the tasks of a run that is not running),
a success (held → succeeded, its children counted down; a child that a cancel already ended stays
ended) and the queue clear (queued → cancelled, skipping locked rows). None decides on the run's
state, and none waits for a run row while holding a task row (the claim's update of a run's
`started` is a statement of its own, after the claim committed).

SQLite has no row locks: its IMMEDIATE transactions hold the database's write lock from the first
statement, so every transaction is serialised there and the order holds trivially.
"""

from django.db import connection

from workflows.models import Run


def run_lock(run_id: int) -> str | None:
    """Locks the run row (PostgreSQL) and returns its state as committed now (None: no such run).

    Called first in the transaction, before any task row is touched (the order above). The state
    read under the lock is fresh: READ COMMITTED returns the row as the holder before us left it.
    """
    runs = Run.objects.filter(pk=run_id)
    if connection.features.has_select_for_update:
        runs = runs.select_for_update(no_key=True)
    return runs.values_list("state", flat=True).first()
