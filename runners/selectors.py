"""Reads for runners: the caller's runners with what they are doing, and the figures of /api/v1/status."""


from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Prefetch, QuerySet

from nodeworks_server import hot_sql
from nodeworks_server.errors import NotFound
from runners.models import Runner, online_since
from workflows.models import HELD_TASK_STATES, Task, TaskState


def queue_figures() -> dict:
    """Queue length (queued tasks) and runners online (seen within two heartbeat periods)."""
    return {
        "queue_length": Task.objects.filter(state=TaskState.QUEUED).count(),
        "runners_online": Runner.objects.filter(last_contact__gte=online_since()).count(),
    }


def runner_list(*, user) -> QuerySet[Runner]:
    """The caller's runners (an admin's: all), each with `current_tasks`: its held leases."""
    runners = Runner.objects.select_related("owner").prefetch_related(
        Prefetch(
            "tasks",
            queryset=Task.objects.filter(state__in=HELD_TASK_STATES)
            .only("id", "node", "run_id", "state", "runner_id", "started")
            .annotate(workflow_id=F("run__workflow_id")),
            to_attr="current_tasks",
        )
    )
    return runners if user.is_staff else runners.filter(owner=user)


def runner_get(*, user, runner_id: int) -> Runner:
    """Another user's runner is indistinguishable from a missing one (404)."""
    runners = Runner.objects.all() if user.is_staff else Runner.objects.filter(owner=user)
    runner = runners.filter(pk=runner_id).first()
    if runner is None:
        raise NotFound(f"runner {runner_id} not found")
    return runner


class _RowReader:
    """A model's columns in one SELECT, and the ORM's converters to turn a row back into an instance."""

    def __init__(self, model):
        self.model = model
        fields = model._meta.concrete_fields
        self.names = [field.attname for field in fields]
        self.columns = [f"{model._meta.db_table}.{field.column}" for field in fields]
        cols = [field.get_col(model._meta.db_table) for field in fields]
        # Backend converters (SQLite's booleans and dates) then the field's own (JSON text).
        self.converters = [
            (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)) for col in cols
        ]

    def instance(self, values):
        converted = []
        for value, (col, converters) in zip(values, self.converters, strict=True):
            for converter in converters:
                value = converter(value, col, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.names, converted)


_readers: dict[str, tuple[str, _RowReader, _RowReader]] = {}


def runner_by_token_digest(digest: str) -> Runner | None:
    """The runner holding this token, with its owner loaded (as select_related would).

    Every runner call starts here, so the SQL is built once per process instead of per call by
    the ORM (which cost more CPU than the indexed lookup itself).
    """
    if connection.vendor not in _readers:
        user_model = get_user_model()
        runners, users = _RowReader(Runner), _RowReader(user_model)
        sql = (
            f"SELECT {', '.join(runners.columns + users.columns)} FROM {Runner._meta.db_table} "  # noqa: S608
            f"JOIN {user_model._meta.db_table} ON {user_model._meta.db_table}.{user_model._meta.pk.column} = "
            f"{Runner._meta.db_table}.{Runner._meta.get_field('owner').column} "
            f"WHERE {Runner._meta.db_table}.token_digest = %(digest)s"
        )
        _readers[connection.vendor] = (sql, runners, users)
    sql, runners, users = _readers[connection.vendor]
    rows = hot_sql.fetch(sql, {"digest": digest})
    if not rows:
        return None
    row = rows[0]
    runner = runners.instance(row[: len(runners.names)])
    runner.owner = users.instance(row[len(runners.names) :])
    return runner
