"""A new run's tasks enter the queue: long-polls are woken, and an empty run is done at once."""

import threading

from django.conf import settings
from django.db import connection, transaction

from workflows.lifecycle.run_end import run_finish_if_done
from workflows.models import Task
from workflows.queue_events import notify_queued


def run_queued(*, run_id: int, task_count: int) -> None:
    """Called inside the transaction that created the run's tasks (queued or pending)."""
    run_finish_if_done(run_id=run_id)  # an empty workflow is done at once
    transaction.on_commit(notify_queued)
    if connection.vendor == "postgresql" and task_count >= settings.ANALYZE_AFTER_TASKS:
        # Thousands of new queue rows at once: without fresh statistics the lease query is planned
        # as a scan and sort of every queued row (10x slower per lease) until autovacuum looks again.
        # In a thread of its own: ANALYZE of a large table takes seconds, which the execute call
        # should not wait for (the first leases may run on older statistics meanwhile).
        transaction.on_commit(lambda: threading.Thread(target=_analyze_tasks, daemon=True).start())


def _analyze_tasks() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Task._meta.db_table}")
    finally:
        connection.close()  # this thread's own connection
