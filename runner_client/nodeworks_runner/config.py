"""Runner settings: defaults < config file < environment variables < command-line flags.

The config file (JSON, written by ``nodeworks-runner register``) lives at
``$NODEWORKS_RUNNER_CONFIG`` or ``~/.config/nodeworks-runner/config.json`` and is created readable
only by its owner (mode 0600), because it holds the runner token.

Every field can be set by an environment variable ``NODEWORKS_RUNNER_<FIELD>`` (upper case), e.g.
``NODEWORKS_RUNNER_URL``, ``NODEWORKS_RUNNER_TOKEN``, ``NODEWORKS_RUNNER_TAGS=gpu,big``. List
fields take commas (``tags``, ``executors``), ``os.pathsep`` (``node_path``) or shell words
(``*_args``).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import List, Optional

ENV_PREFIX = "NODEWORKS_RUNNER_"
DEFAULT_EXECUTORS = ["local", "shell"]


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "nodeworks-runner"


def default_config_path() -> Path:
    explicit = os.environ.get("NODEWORKS_RUNNER_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "nodeworks-runner" / "config.json"


@dataclass
class RunnerConfig:
    # server and identity
    url: str = ""
    token: str = ""
    name: str = ""
    runner_id: str = ""
    tags: List[str] = field(default_factory=list)
    executors: List[str] = field(default_factory=lambda: list(DEFAULT_EXECUTORS))
    ca_bundle: str = ""  # PEM file of CAs to trust (else the system's)
    proxy: str = ""  # explicit proxy URL (else http_proxy/https_proxy/no_proxy from the environment)
    http_timeout_s: float = 60.0
    # the loop
    concurrency: int = 2
    prefetch: int = -1  # tasks leased beyond the free slots while tasks are short (-1: automatic, slots.py)
    segment_max: int = 100  # chain links leased below a task at once, run here one after the other (0: none)
    lease_wait_s: float = 20.0  # long-poll; the server caps it at 30
    heartbeat_s: float = 10.0
    log_interval_s: float = 1.0
    cancel_grace_s: float = 5.0
    retry_max_s: float = 30.0  # back-off cap when the server is unreachable
    retry_attempts: int = 5  # `run --once` gives up after this many failed calls in a row (exit code 4)
    results_max_bytes: int = 8 * 1024 * 1024  # one results call's body at most (the server takes 20 MB)
    # node library
    node_path: List[str] = field(default_factory=list)  # folders of plug-in (custom node) files
    inline_limit_bytes: int = 8 * 1024 * 1024  # larger ndarray outputs are uploaded as artifacts
    # places
    work_dir: str = ""
    state_dir: str = ""
    spool_dir: str = ""
    shared_dir: str = ""  # work dir visible to SLURM jobs (default: work_dir)
    keep_workdirs: bool = False
    # shell executor (and the default interpreter of the entry point)
    python: str = ""
    conda_command: str = "conda"
    # container executor
    container_command: str = "podman"
    container_global_args: List[str] = field(default_factory=list)
    container_image_default: str = ""
    container_network: str = "none"
    container_python: str = ""  # interpreter inside the image for Python nodes ("" = mount ours read-only)
    container_user: str = ""  # "" = automatic, "-" = the image's own user
    container_extra_args: List[str] = field(default_factory=list)
    # slurm executor
    slurm_partition: str = ""
    slurm_account: str = ""
    slurm_qos: str = ""
    slurm_extra_args: List[str] = field(default_factory=list)
    slurm_max_jobs: int = 100
    slurm_poll_s: float = 5.0
    # where this config was read from / is written to
    config_path: str = ""

    def __post_init__(self):
        self.finish()

    def finish(self) -> "RunnerConfig":
        """Fills derived defaults (directories, interpreter); safe to call again after changes."""
        home = default_home()
        if not self.work_dir:
            self.work_dir = str(home / "work")
        if not self.state_dir:
            self.state_dir = str(home / "state")
        if not self.spool_dir:
            self.spool_dir = str(Path(self.state_dir) / "spool")
        if not self.shared_dir:
            self.shared_dir = self.work_dir
        if not self.python:
            self.python = sys.executable
        if not self.config_path:
            self.config_path = str(default_config_path())
        self.url = self.url.rstrip("/")
        return self

    def prefetch_tasks(self) -> int:
        """How many tasks may wait leased beyond --concurrency (only while tasks finish quickly: slots.py)."""
        return max(0, int(self.concurrency if self.prefetch < 0 else self.prefetch))

    # ------------------------------------------------------------ sources

    @classmethod
    def field_names(cls) -> List[str]:
        return [f.name for f in fields(cls)]

    def update(self, values: dict) -> "RunnerConfig":
        """Sets known fields from a dict, converting strings to each field's type; None is skipped."""
        types = {f.name: f for f in fields(self)}
        for key, value in values.items():
            if key not in types or value is None:
                continue
            setattr(self, key, _convert(key, value, getattr(self, key)))
        return self

    def update_from_env(self, environ=None) -> "RunnerConfig":
        environ = os.environ if environ is None else environ
        found = {}
        for name in self.field_names():
            if name == "config_path":
                continue
            key = ENV_PREFIX + name.upper()
            if key in environ:
                found[name] = environ[key]
        return self.update(found)

    def persisted(self) -> dict:
        """What ``register`` writes to the config file: everything but the file's own path."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.pop("config_path", None)
        return data

    def save(self, path: Optional[str] = None) -> Path:
        """Writes the config file, readable only by its owner (the token is a secret)."""
        target = Path(path or self.config_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(str(target.parent), 0o700)
        except OSError:
            pass
        tmp = target.with_name(target.name + ".tmp")
        fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.persisted(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(str(tmp), 0o600)
        os.replace(str(tmp), str(target))
        return target

    @staticmethod
    def read_file(path: str) -> dict:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError("config file %s is not a JSON object" % path)
        return data


def load_config(path: Optional[str] = None, overrides: Optional[dict] = None, environ=None) -> RunnerConfig:
    """defaults < config file < environment < ``overrides`` (the command-line flags that were given)."""
    environ = os.environ if environ is None else environ
    config_path = path or environ.get("NODEWORKS_RUNNER_CONFIG") or str(default_config_path())
    config = RunnerConfig(config_path=config_path)
    config.update(RunnerConfig.read_file(config_path))
    config.update_from_env(environ)
    config.update(overrides or {})
    config.config_path = config_path
    # Derived defaults again, in case only some directories were given.
    return config.finish()


def _convert(name: str, value, current):
    if isinstance(current, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(current, int) and not isinstance(current, bool):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, list):
        if isinstance(value, str):
            if name.endswith("_args"):
                return shlex.split(value)
            if name == "node_path":
                return [part for part in value.split(os.pathsep) if part]
            return [part.strip() for part in value.split(",") if part.strip()]
        return [str(item) for item in value]
    return str(value)
