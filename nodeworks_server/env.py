"""Reading settings from environment variables, with explicit errors for bad values."""

import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """DATABASE_URL -> a Django DATABASES entry. Supports sqlite:///path and postgres(ql)://."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:////abs/path or sqlite:///relative/path
        path = unquote(parsed.path[1:] if parsed.path.startswith("//") else parsed.path.lstrip("/"))
        if parsed.path.startswith("//"):
            path = "/" + path.lstrip("/")
        return sqlite_database(path)
    if parsed.scheme in ("postgres", "postgresql", "pgsql"):
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        if env_bool("DB_PREPARED_STATEMENTS", True):
            # The hot statements are prepared and planned once per connection (nodeworks_server/hot_sql.py).
            # psycopg prepares nothing by itself below this threshold (Django's own queries are never
            # prepared: they are bound client-side); None (Django's default) disables preparing at all.
            options["prepare_threshold"] = int(options.get("prepare_threshold", 2**31 - 1))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
            # Off by default: the check is a `SELECT 1` round trip before every request's first query,
            # a quarter of a runner call's database time. Without it, a connection that died (a
            # database restart) fails one request per server thread, after which Django replaces it.
            "CONN_HEALTH_CHECKS": env_bool("DB_CONN_HEALTH_CHECKS", False),
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported (sqlite or postgresql)")


def sqlite_database(path: str) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # WAL and a busy timeout let runners, the worker and the web server write
        # the same file without "database is locked" under normal contention.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def caches_from_url(url: str) -> dict:
    """NODEWORKS_CACHE_URL → CACHES: empty for the database cache, redis://, rediss:// or unix:// for
    Redis (the `redis` package must be installed), locmem:// for one process only (counts per process)."""
    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "nodeworks-local"}
    if not url:
        shared = {
            "BACKEND": "nodeworks_server.cache.SharedDatabaseCache",
            "LOCATION": "nodeworks_cache",
            # Counters of many addresses must not be culled early: a culled counter is a reset throttle.
            "OPTIONS": {"MAX_ENTRIES": 200_000, "CULL_FREQUENCY": 4},
        }
    elif url.startswith(("redis://", "rediss://", "unix://")):
        shared = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    elif url == "locmem://":
        shared = dict(local, LOCATION="nodeworks-default")
    else:
        raise ImproperlyConfigured(
            "NODEWORKS_CACHE_URL must be empty (the database cache), redis://..., rediss://..., unix://... "
            f"or locmem://, got {url!r}"
        )
    return {"default": shared, "local": local}
