"""``nodeworks-runner``: register this host once, then run.

    nodeworks-runner register --url URL --token nwu_... --name N --tags a,b --executors local,shell
    nodeworks-runner run [--once] [--concurrency 4] [--node-path DIR] ...
    nodeworks-runner config          # the effective settings (token hidden)
    nodeworks-runner nodes           # the node library paths this runner knows

Settings: defaults < config file < NODEWORKS_RUNNER_* environment variables < flags.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import threading
from typing import List, Optional

from nodeworks_runner import __version__
from nodeworks_runner.config import RunnerConfig, load_config
from nodeworks_runner.signals import Shutdown

# nodeworks_runner.http (urllib, ssl) and the runner loop (numpy...) are imported only once `run` has
# its signal handlers: importing them takes a good part of a second on a busy host, and a SIGTERM in
# that time must drain the runner, not kill it.

# flag -> (config field, help); list fields take comma-separated values (node path: repeat the flag)
SETTING_FLAGS = [
    ("--url", "url", "server URL, e.g. https://nodeworks.example.org"),
    ("--name", "name", "runner name (default: the host name)"),
    ("--tags", "tags", "comma-separated tags, e.g. gpu,big-memory"),
    ("--executors", "executors", "comma-separated executors offered: local,shell,container,slurm"),
    ("--ca-bundle", "ca_bundle", "PEM file of certificate authorities to trust"),
    ("--proxy", "proxy", "proxy URL (default: http_proxy/https_proxy from the environment)"),
    ("--concurrency", "concurrency", "tasks run at once (default 2)"),
    ("--prefetch", "prefetch", "tasks leased ahead of the free slots while tasks are short, so the next ones are "
                               "here when a slot frees (default: automatic, from --concurrency for tasks of a "
                               "second up to 500 for tasks of a millisecond; N: exactly N; 0: none)"),
    ("--segment-max", "segment_max", "chain links leased below a task at once, each started here as soon as the "
                                     "one above succeeds (default 100; 0: one task at a time)"),
    ("--lease-wait", "lease_wait_s", "seconds a lease call long-polls (max 30)"),
    ("--heartbeat", "heartbeat_s", "seconds between heartbeats (at most; shorter if leases are short)"),
    ("--log-interval", "log_interval_s", "seconds between log uploads"),
    ("--cancel-grace", "cancel_grace_s", "seconds between SIGTERM and SIGKILL when a task is stopped"),
    ("--retry-max", "retry_max_s", "longest back-off (seconds) while the server is unreachable"),
    ("--retry-attempts", "retry_attempts", "with --once: give up (exit code 4) after this many failed tries in a row "
                                           "to reach the server (default 5)"),
    ("--http-timeout", "http_timeout_s", "timeout of one HTTP call (seconds)"),
    ("--results-max-bytes", "results_max_bytes", "largest body of one results call (bytes; the server takes 20 MB)"),
    ("--work-dir", "work_dir", "where task work directories are made"),
    ("--state-dir", "state_dir", "runner state (journal, spool)"),
    ("--spool-dir", "spool_dir", "finished results waiting for the server"),
    ("--shared-dir", "shared_dir", "work directory visible to SLURM jobs"),
    ("--python", "python", "interpreter of the shell/local executors (default: this one)"),
    ("--conda", "conda_command", "conda command for named environments"),
    ("--container-command", "container_command", "podman or docker"),
    ("--container-global-args", "container_global_args", "extra arguments before the container subcommand"),
    ("--container-image", "container_image_default", "image when a node names none"),
    ("--container-network", "container_network", "container network (default none)"),
    ("--container-python", "container_python", "interpreter inside the image for Python nodes (default: mount ours)"),
    ("--container-user", "container_user", "user inside the container ('' automatic, '-' the image's own)"),
    ("--container-extra-args", "container_extra_args", "more arguments for `run` (shell words)"),
    ("--slurm-partition", "slurm_partition", "sbatch --partition"),
    ("--slurm-account", "slurm_account", "sbatch --account"),
    ("--slurm-qos", "slurm_qos", "sbatch --qos"),
    ("--slurm-extra-args", "slurm_extra_args", "more sbatch arguments (shell words)"),
    ("--slurm-max-jobs", "slurm_max_jobs", "most SLURM jobs at once"),
    ("--slurm-poll", "slurm_poll_s", "seconds between SLURM job checks"),
]


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", dest="config_path", help="config file (default ~/.config/nodeworks-runner/"
                                                               "config.json or $NODEWORKS_RUNNER_CONFIG)")
    for flag, field, help_text in SETTING_FLAGS:
        parser.add_argument(flag, dest=field, default=None, help=help_text)
    parser.add_argument("--node-path", dest="node_path", action="append", default=None,
                        help="folder of Nodeworks custom-node files (repeatable)")
    parser.add_argument("--keep-workdirs", dest="keep_workdirs", action="store_const", const=True, default=None,
                        help="keep each task's work directory after its result is delivered")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def _overrides(args: argparse.Namespace) -> dict:
    fields = set(RunnerConfig.field_names())
    return {key: value for key, value in vars(args).items() if key in fields and value is not None
            and key != "config_path"}


def _load(args: argparse.Namespace) -> RunnerConfig:
    return load_config(args.config_path, _overrides(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nodeworks-runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="nodeworks-runner %s" % __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    register = commands.add_parser("register", help="register this runner with a server (once)")
    _add_setting_flags(register)
    register.add_argument("--token", dest="user_token", help="your personal API token (nwu_...); or "
                                                              "NODEWORKS_USER_TOKEN")

    run = commands.add_parser("run", help="lease and execute tasks until stopped")
    _add_setting_flags(run)
    run.add_argument("--token", dest="token", default=None, help="runner token (nwr_...); normally from the config")
    run.add_argument("--once", action="store_true", help="run what is queued now, then exit")

    show = commands.add_parser("config", help="print the effective settings (token hidden)")
    _add_setting_flags(show)

    nodes = commands.add_parser("nodes", help="list the node library paths this runner knows")
    _add_setting_flags(nodes)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    shutdown = None
    if args.command == "run":
        # First thing, before any slow import, the executors and any network call: a SIGTERM (or
        # Ctrl-C) right after the start drains like one later (exit 0), instead of killing the runner
        # with the default action (-15) or a KeyboardInterrupt traceback.
        shutdown = Shutdown(threading.Event())
        shutdown.install()
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from nodeworks_runner.http import HttpError

    try:
        if shutdown is not None:
            return cmd_run(args, shutdown)
        return {"register": cmd_register, "config": cmd_config, "nodes": cmd_nodes}[args.command](args)
    except (HttpError, ValueError) as exc:
        print("nodeworks-runner: %s" % exc, file=sys.stderr)
        return 1


def cmd_register(args: argparse.Namespace) -> int:
    from nodeworks_runner.http import Client

    config = _load(args)
    user_token = args.user_token or os.environ.get("NODEWORKS_USER_TOKEN", "")
    if not config.url:
        raise ValueError("--url is required (or NODEWORKS_RUNNER_URL)")
    if not user_token:
        raise ValueError("--token nwu_... (your personal API token) is required, or NODEWORKS_USER_TOKEN")
    config.name = config.name or socket.gethostname()
    client = Client(config.url, user_token, ca_bundle=config.ca_bundle, timeout=config.http_timeout_s,
                    proxy=config.proxy, auth_scheme="Token", retry_max_s=config.retry_max_s)
    answer = client.post("/api/v1/runners/register",
                         {"name": config.name, "tags": config.tags, "executors": config.executors}, retries=3)
    token, runner_id = _token_from(answer)
    if not token:
        raise ValueError("the server answered without a runner token: %s" % json.dumps(answer)[:300])
    config.token = token
    config.runner_id = str(runner_id or "")
    path = config.save()
    print("registered runner %r (id %s) with %s; token saved to %s (mode 600)" % (
        config.name, config.runner_id or "?", config.url, path))
    return 0


def _token_from(answer) -> tuple:
    """The runner token and id, whatever the exact shape (flat, or under ``runner``)."""
    if not isinstance(answer, dict):
        return "", ""
    runner = answer.get("runner") if isinstance(answer.get("runner"), dict) else {}
    token = answer.get("token") or runner.get("token") or answer.get("runner_token") or ""
    runner_id = answer.get("id") or runner.get("id") or answer.get("runner_id") or ""
    return token, runner_id


def cmd_run(args: argparse.Namespace, shutdown: Optional[Shutdown] = None) -> int:
    from nodeworks_runner.http import ClientError
    from nodeworks_runner.worker import Runner

    config = _load(args)
    if not config.url or not config.token:
        raise ValueError("not registered: run `nodeworks-runner register --url URL --token nwu_...` first "
                         "(or give --url and --token nwr_...)")
    config.name = config.name or socket.gethostname()
    try:
        return Runner(config, shutdown=shutdown).run(once=args.once)
    except ClientError as exc:
        print("nodeworks-runner: the server refused this runner: %s" % exc, file=sys.stderr)
        return 3


def cmd_config(args: argparse.Namespace) -> int:
    config = _load(args)
    shown = config.persisted()
    if shown.get("token"):
        shown["token"] = shown["token"][:8] + "..."
    shown["config_path"] = config.config_path
    print(json.dumps(shown, indent=2, sort_keys=True))
    return 0


def cmd_nodes(args: argparse.Namespace) -> int:
    from nodeworks_runner.nodes import builtin_paths, plugins

    config = _load(args)
    for path in builtin_paths():
        print("/".join(path))
    for path in plugins.available(config.node_path):
        print("/".join(path) + "  (plug-in)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
