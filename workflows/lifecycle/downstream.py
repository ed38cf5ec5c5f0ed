"""The descendants of ended tasks that can never start now: one recursive statement per batch of starts.

Walking the graph in the database reads only the links below the starts (by the (parent, child)
unique index), where loading every edge of the run per failure cost time in the run's size for each
failed task: a 10,000-task run whose tasks fail one by one read 10,000 edges each time. UNION (not
UNION ALL) visits a task reached along several paths once, so a diamond-shaped graph stays linear.
The same walk as dag.descendants, which requeue still uses on the graph it loads anyway.
"""

from django.db import connection
from django.utils import timezone

from workflows.models import Task, TaskDependency, TaskState

# Starts per statement: far under every database's parameter limit.
BATCH = 500

_DESCENDANTS_END = """
WITH RECURSIVE down(id) AS (
    SELECT child_id FROM {links} WHERE parent_id IN ({starts})
    UNION
    SELECT link.child_id FROM {links} AS link JOIN down ON link.parent_id = down.id
)
UPDATE {tasks} SET state = %s, finished = %s, error = %s
WHERE id IN (SELECT id FROM down) AND state IN ({states})
"""


def descendants_end(starts, *, error: str, states=(TaskState.PENDING, TaskState.QUEUED), now=None) -> int:
    """Every descendant of `starts` still in one of `states` ends upstream_failed with `error`.

    Returns how many tasks ended.
    """
    starts = sorted(set(starts))
    if not starts:
        return 0
    now = now or timezone.now()
    ended = 0
    for first in range(0, len(starts), BATCH):
        batch = starts[first : first + BATCH]
        sql = _DESCENDANTS_END.format(
            links=TaskDependency._meta.db_table,
            tasks=Task._meta.db_table,
            starts=", ".join(["%s"] * len(batch)),
            states=", ".join(["%s"] * len(states)),
        )
        params = [*batch, TaskState.UPSTREAM_FAILED, now, error, *(str(state) for state in states)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ended += cursor.rowcount
    return ended
