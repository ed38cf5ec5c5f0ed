"""Tag fit: a task fits a runner when every tag it requires is among the runner's tags.

One rule, in the three forms its users need: Python (why is a task waiting?), and the claim's
subquery of fitting tag sets on PostgreSQL (`<@`, jsonb containment) and on SQLite (json_each).
"""

import json

from django.db.models.expressions import RawSQL

from workflows.models import TagSet


def tags_fit(required, offered) -> bool:
    return set(required) <= set(offered)


# Tag sets whose tags are all among %(tags)s (a JSON array), in the claim's hand-written statement.
PG_FITTING_TAGSETS = f"SELECT id FROM {TagSet._meta.db_table} WHERE tags <@ %(tags)s::jsonb"  # noqa: S608 (a table name)


def pg_tags_param(tags) -> str:
    return json.dumps(list(tags))


def sqlite_fitting_tagsets(tags) -> RawSQL:
    """The tag sets whose tags are all among `tags`, as a subquery of the claim (no round trip)."""
    table = TagSet._meta.db_table
    if not tags:
        return RawSQL(f"SELECT id FROM {table} WHERE json_array_length(tags) = 0", [])  # noqa: S608, S611
    placeholders = ", ".join(["%s"] * len(tags))
    return RawSQL(  # noqa: S611 (placeholders only; the tags are parameters)
        f"SELECT id FROM {table} WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM json_each({table}.tags) AS tag WHERE tag.value NOT IN ({placeholders}))",
        list(tags),
    )
