"""The shared cache: what every server process and worker sees (docs/configuration.md, NODEWORKS_CACHE_URL).

Throttle counters live here (accounts/throttles.py). A per-process cache (LocMem) let each gunicorn
worker count on its own, so two workers let twice the allowed login attempts through; the database
cache is shared by every process that shares the database, and Redis when one is configured.
"""

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from django.utils import timezone


class SharedDatabaseCache(DatabaseCache):
    """Django's database cache with an atomic `incr`.

    Django's own `incr` reads, adds and writes back: two processes counting at once both write the
    same number and one attempt goes uncounted, so a burst of parallel logins would slip past a
    throttle. Here the write is a compare-and-set (`UPDATE ... WHERE value = <the value read>`),
    retried when another process changed the value in between.
    """

    CAS_TRIES = 1000  # each failure means another writer succeeded: progress is certain, starvation is not

    def incr(self, key, delta=1, version=None):
        for _ in range(self.CAS_TRIES):
            current = self.get(key, version=version)
            if current is None:
                raise ValueError(f"Key '{key}' not found")
            new = current + delta
            if self._compare_and_set(key, current, new, version=version):
                return new
        raise RuntimeError(f"cache key {key!r} changed {self.CAS_TRIES} times while being incremented")

    def _compare_and_set(self, key, old, new, *, version) -> bool:
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        encode = lambda value: base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")  # noqa: E731
        now = connection.ops.adapt_datetimefield_value(timezone.now().replace(microsecond=0))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET value = %s WHERE cache_key = %s AND value = %s AND expires > %s",  # noqa: S608 (a quoted table name)
                [encode(new), key, encode(old), now],
            )
            return cursor.rowcount == 1
