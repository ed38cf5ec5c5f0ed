"""On-disk records that make finished work survive restarts and outages.

* ``Spool``: one JSON file per finished task (``<spool_dir>/<lease_id>.json``) holding its result,
  the tail of its log and its artifacts (uploaded or not). Written before anything is sent,
  removed only when the server has answered for that lease (accepted, or refused for good), so a
  result is never lost: an unreachable server or a crash just means it is resent later. Tasks
  that finish together are written as one file (``batch-<lease_id>.json``, a list) with one fsync
  instead of one each; a later change of one of them (log progress, an artifact's id) goes to its
  own file, which wins over the batch's copy. A batch file goes when the server has answered for
  all of its results; after a crash, those it had answered for are resent and answered as
  duplicates (results are idempotent by lease).
* ``Journal``: one JSON file per started task (``<state_dir>/journal/<lease_id>.json``) with its
  work directory and process info, removed when the result is spooled. After a crash (kill -9) the
  next start finds them: a task whose process still wrote its result.json is reported late (the
  server answers 409 if the lease has moved on); a leftover process is stopped.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path
from typing import Dict, List, Optional, Set


def utcnow_iso() -> str:
    """A result's ``started`` and ``finished`` times, as the protocol has them."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _write_atomic(path: Path, data: dict, durable: bool) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, allow_nan=False)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(str(tmp), str(path))


BATCH_PREFIX = "batch-"


def _safe(lease_id: str) -> str:
    return "".join(c for c in str(lease_id) if c.isalnum() or c == "-")


class _Folder:
    durable = True  # fsync each write

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(str(self.folder), 0o700)
        except OSError:
            pass

    def path(self, lease_id: str) -> Path:
        return self.folder / (_safe(lease_id) + ".json")

    def save(self, entry: dict) -> None:
        _write_atomic(self.path(entry["lease_id"]), entry, self.durable)

    def remove(self, lease_id: str) -> None:
        try:
            self.path(lease_id).unlink()
        except FileNotFoundError:
            pass

    def get(self, lease_id: str) -> Optional[dict]:
        try:
            with open(str(self.path(lease_id)), encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def load_all(self) -> List[dict]:
        entries = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                with open(str(path), encoding="utf-8") as handle:
                    entry = json.load(handle)
            except (OSError, ValueError):
                path.rename(path.with_suffix(".broken"))  # keep it for a human, out of the way
                continue
            if isinstance(entry, dict) and entry.get("lease_id"):
                entries.append(entry)
        return entries


class Spool(_Folder):
    """Finished results waiting for the server (on disk, and mirrored in memory so the loop need not
    re-read the folder on every turn)."""

    def __init__(self, folder):
        super().__init__(folder)
        self.entries: Dict[str, dict] = {}
        self.batch_of: Dict[str, Path] = {}  # lease id -> the batch file holding its first copy
        self.batches: Dict[Path, Set[str]] = {}  # batch file -> the leases not yet answered for
        # Leases with a file of their own (saved alone, or changed since their batch): only those are
        # unlinked one by one; a batch of 500 no longer costs 500 failed unlinks.
        self.own_files: Set[str] = set()
        for path in sorted(self.folder.glob(BATCH_PREFIX + "*.json")):
            try:
                with open(str(path), encoding="utf-8") as handle:
                    batch = json.load(handle)
            except (OSError, ValueError):
                path.rename(path.with_suffix(".broken"))
                continue
            for entry in batch if isinstance(batch, list) else []:
                if isinstance(entry, dict) and entry.get("lease_id"):
                    self._in_batch(path, entry)
        for entry in self.load_all():  # own files are newer
            self.entries[entry["lease_id"]] = entry
            self.own_files.add(str(entry["lease_id"]))

    def _in_batch(self, path: Path, entry: dict) -> None:
        lease = str(entry["lease_id"])
        self.entries[lease] = entry
        self.batch_of[lease] = path
        self.batches.setdefault(path, set()).add(lease)

    def load_all(self) -> List[dict]:
        return [entry for entry in super().load_all() if not str(entry.get("lease_id")).startswith(BATCH_PREFIX)]

    def save(self, entry: dict) -> None:
        super().save(entry)
        self.entries[str(entry["lease_id"])] = entry
        self.own_files.add(str(entry["lease_id"]))

    def save_many(self, entries: List[dict]) -> None:
        """Results of tasks that finished together: one file, one fsync."""
        if len(entries) == 1:
            self.save(entries[0])
        elif entries:
            path = self.folder / (BATCH_PREFIX + _safe(entries[0]["lease_id"]) + ".json")
            _write_atomic(path, entries, self.durable)
            for entry in entries:
                self._in_batch(path, entry)

    def remove(self, lease_id: str) -> None:
        lease_id = str(lease_id)
        batch = self.batch_of.pop(lease_id, None)
        if lease_id in self.own_files or batch is None:
            self.own_files.discard(lease_id)
            super().remove(lease_id)  # its own file, if a change was saved since the batch
        if batch is not None:
            left = self.batches.get(batch, set())
            left.discard(lease_id)
            if not left:
                self.batches.pop(batch, None)
                try:
                    batch.unlink()
                except FileNotFoundError:
                    pass
        self.entries.pop(lease_id, None)

    def get(self, lease_id: str) -> Optional[dict]:
        return self.entries.get(str(lease_id))

    def pending(self) -> List[dict]:
        """Entries in the order they were spooled."""
        return sorted(self.entries.values(), key=lambda entry: entry.get("spooled_at") or 0)

    def new_entry(self, *, task: dict, state: str, outputs: dict, error: str, started: str, finished: str,
                  artifacts: list, log_offset: int, log_data: str, workdir: str, late: bool = False,
                  save: bool = True) -> dict:
        entry = {
            "lease_id": str(task["lease_id"]),
            "task_id": task.get("task_id"),
            "after": (task.get("after") or {}).get("lease_id"),  # a chain link's parent lease
            "run_id": task.get("run_id"),
            "node": (task.get("node") or {}).get("uniquename"),
            "state": state,
            "outputs": outputs,
            "error": error,
            "started": started,
            "finished": finished,
            # [name, local path, artifact id or None]
            "artifacts": [[name, path, None] for name, path in artifacts],
            "log": {"offset": log_offset, "data": log_data},
            "workdir": workdir,
            "late": late,
            "tries": 0,
            "spooled_at": time.time(),
        }
        if save:  # else the caller saves it with others (save_many) before anything is sent
            self.save(entry)
        return entry


class Journal(_Folder):
    """Tasks started by this runner and not yet spooled (a hint for recovery: no fsync needed)."""

    durable = False

    def started(self, task: dict, *, workdir: str, executor: str, info: Dict) -> None:
        self.save({"lease_id": str(task["lease_id"]), "task": task, "workdir": workdir, "executor": executor,
                   "info": info, "started_at": time.time()})
