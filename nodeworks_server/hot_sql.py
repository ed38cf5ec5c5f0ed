"""The few statements every task goes through (runner auth, claim, completion, "is the run done?"),
sent with server-side parameters, and prepared on PostgreSQL where a generic plan is safe.

Django sends every query as text with its parameters inlined (client-side binding), so PostgreSQL
parses and plans each one again: up to 0.4 ms of database CPU per statement here, more than
executing it. A prepared statement is parsed once per connection, and after five runs PostgreSQL
keeps a generic plan (made without the parameter values) when it costs no more than the custom
ones: for lookups by unique or partial indexes it never does. The claim is not prepared
(`per_call_plan`): its good plan (walk the queue index in priority order) versus a bad one (read
every queued row, then sort) depends on the values, and PostgreSQL may take the bad one as generic
plan (seen in tests/engine/test_hot_sql.py). Elsewhere (SQLite) they go through Django's cursor.
"""

import psycopg
from django.db import connection
from psycopg import pq


def fetch(sql: str, params: dict | list, *, per_call_plan: bool = False) -> list[tuple]:
    """Runs `sql` (with %(name)s or %s placeholders) and returns its rows, or [] for a statement without."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    connection.ensure_connection()
    # prepare_threshold None: preparing is off (DB_PREPARED_STATEMENTS=false, e.g. behind a pooler
    # that cannot keep prepared statements); statements are then planned on every call.
    prepare = not per_call_plan and connection.connection.prepare_threshold is not None
    # Django's error translation and bookkeeping (a failed connection is dropped at request end).
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=prepare)
        # Not `cursor.description`: it builds a Column object per column on every call.
        result = cursor.pgresult
        return cursor.fetchall() if result is not None and result.status == pq.ExecStatus.TUPLES_OK else []
