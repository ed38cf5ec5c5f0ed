"""The only module that touches git (through GitPython).

One bare repository per workflow under DATA_DIR/repos/<repo_key>. Commits are built from blobs
and a tree written straight into the object database, so there is no working tree or index file
to race on, and reads go through `git cat-file`, closed after each call so no process outlives a request.
The database row, not the branch ref, says which commit is the head: a commit whose transaction
rolled back stays unreachable from the next revision.
"""

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

from django.conf import settings
from git import Actor, Repo
from git.exc import BadName
from git.objects import Blob, Commit, Tree
from git.objects.fun import tree_entries_from_data, tree_to_stream
from gitdb import IStream
from gitdb.db import LooseObjectDB
from gitdb.exc import BadObject

FILE_MODE = 0o100644
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
COMMITTER = Actor("Nodeworks Distributed", "server@nodeworks.invalid")


class RevisionNotFound(LookupError):
    pass


@dataclass(frozen=True)
class RevisionInfo:
    sha: str
    message: str
    author_name: str
    author_email: str
    time: datetime


def repo_path(repo_key: str) -> Path:
    return Path(settings.DATA_DIR) / "repos" / f"{repo_key}.git"


def _open(repo_key: str, *, create: bool = False) -> Repo:
    path = repo_path(repo_key)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        Repo.init(path, bare=True, initial_branch="main").close()
    if not path.exists():
        raise RevisionNotFound(f"no repository for {repo_key}")
    return Repo(path)


def _store(repo: Repo, kind: bytes, data: bytes) -> bytes:
    return repo.odb.store(IStream(kind, len(data), BytesIO(data))).binsha


def commit_files(
    *,
    repo_key: str,
    files: dict[str, bytes],
    message: str,
    author_name: str,
    author_email: str,
    parent: str | None,
) -> str:
    """Commits exactly `files` (flat names) on top of `parent`; returns the new sha."""
    repo = _open(repo_key, create=True)
    try:
        entries = sorted(
            ((_store(repo, Blob.type, data), FILE_MODE, name) for name, data in files.items()),
            key=lambda entry: entry[2],
        )
        buffer = BytesIO()
        tree_to_stream(entries, buffer.write)
        tree = Tree(repo, _store(repo, Tree.type, buffer.getvalue()))
        parents = [repo.commit(parent)] if parent else []
        commit = Commit.create_from_tree(
            repo,
            tree,
            message,
            parent_commits=parents,
            head=True,
            author=Actor(author_name, author_email),
            committer=COMMITTER,
        )
        return commit.hexsha
    finally:
        repo.close()


def _commit(repo: Repo, sha: str) -> Commit:
    if not SHA_RE.match(sha):
        raise RevisionNotFound(f"revision {sha!r} is not a 40-character hex sha")
    try:
        return repo.commit(sha)
    except (BadName, ValueError):
        raise RevisionNotFound(f"revision {sha} does not exist") from None


def _read_loose(repo_key: str, sha: str, name: str) -> bytes | None:
    """`name` at commit `sha` read straight from the loose objects, in this process; None when any
    object is not loose (a packed repository) or not what it should be, so the caller asks git.

    Every object this module writes is loose; reading through git starts two `git cat-file`
    processes per call, which made a one-node execute call ~100 ms on a busy machine."""
    db = LooseObjectDB(str(repo_path(repo_key) / "objects"))
    try:
        commit = db.stream(bytes.fromhex(sha))
        if commit.type != b"commit":
            return None
        header = commit.read().split(b"\n", 1)[0]
        if not header.startswith(b"tree "):
            return None
        tree = db.stream(bytes.fromhex(header[5:].decode("ascii")))
        if tree.type != b"tree":
            return None
        for blob_sha, _mode, entry in tree_entries_from_data(tree.read()):
            if entry == name:
                blob = db.stream(blob_sha)
                return blob.read() if blob.type == b"blob" else None
        return None
    except (BadObject, OSError, ValueError):
        return None


def read_file(*, repo_key: str, sha: str, name: str) -> bytes:
    if SHA_RE.match(sha):
        data = _read_loose(repo_key, sha, name)
        if data is not None:
            return data
    repo = _open(repo_key)
    try:
        commit = _commit(repo, sha)
        try:
            return commit.tree[name].data_stream.read()
        except KeyError:
            raise RevisionNotFound(f"revision {sha} has no {name}") from None
    finally:
        repo.close()


def history(*, repo_key: str, head: str, limit: int) -> list[RevisionInfo]:
    """Newest first, following first parents from `head` (our history is linear)."""
    repo = _open(repo_key)
    try:
        revisions: list[RevisionInfo] = []
        commit = _commit(repo, head)
        while commit is not None and len(revisions) < limit:
            revisions.append(
                RevisionInfo(
                    sha=commit.hexsha,
                    message=commit.message,
                    author_name=commit.author.name,
                    author_email=commit.author.email,
                    time=commit.authored_datetime,
                )
            )
            commit = commit.parents[0] if commit.parents else None
        return revisions
    finally:
        repo.close()


def delete_repo(*, repo_key: str) -> None:
    shutil.rmtree(repo_path(repo_key), ignore_errors=True)
