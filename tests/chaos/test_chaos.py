"""Issue 11, item 10: the chaos test. Real gunicorn servers (two, on one database), real `nodeworks-runner`
processes, and a fault-injecting proxy between them (delays, dropped answers, duplicated calls), while
runners are killed (kill -9, SIGTERM) and a server process is restarted, over runs of a 50-node
`shell/Command` workflow. Every run must succeed with every task completed exactly once: 0 lost, 0 double
completions (see tests/chaos/harness.py for how each count is known).

The short version runs in CI; the long one (1,000 rounds) with
``pytest tests/chaos -m chaos_long -s`` or ``.venv/bin/python bench/chaos.py --rounds 1000``.
"""

from __future__ import annotations

import os

import pytest

from tests.chaos.harness import Chaos

# Every kind of fault at least once, whatever the random draw.
MUST = ("kill9", "kill9", "sigterm", "server_restart", "drop", "drop", "dup", "dup", "delay")


def _session(tmp_path_factory, capsys, *, rounds: int, min_runs: int, round_pause: tuple, seed=None):
    chaos = Chaos(tmp_path_factory.mktemp("chaos"), seed=seed)
    try:
        chaos.start()
        summary = chaos.session(rounds=rounds, min_runs=min_runs, must=MUST, round_pause=round_pause)
    finally:
        chaos.close()
    with capsys.disabled():
        print("\n" + summary.line() + f" (seed {chaos.seed})")
    report = summary.line() + "\n" + "\n".join(summary.problems[:30]) + "\n" + chaos.diagnostics()
    assert summary.lost == 0, report
    assert summary.double_completions == 0, report
    assert not summary.problems, report
    # The faults really happened (a chaos test that injected nothing would pass for nothing).
    assert summary.kills >= 2 and summary.sigterms >= 1 and summary.server_restarts >= 1, report
    assert summary.drops >= 2 and summary.duplicates >= 2 and summary.delays >= 1, report
    # Each task's acceptance seen by the proxy once (unseen only when a killed server took the answer with it).
    expected = 50 * summary.runs
    assert expected - summary.upstream_lost <= summary.accepted_completions <= expected, report
    assert summary.executions >= 50 * summary.runs, report
    return summary


def test_chaos_short(tmp_path_factory, capsys):
    """About a minute: ~30 rounds over one or two runs, each fault kind at least once."""
    _session(tmp_path_factory, capsys, rounds=30, min_runs=1, round_pause=(0.1, 0.5))


@pytest.mark.chaos_long
def test_chaos_long(request, tmp_path_factory, capsys):
    """1,000 rounds (NODEWORKS_CHAOS_ROUNDS) over many runs back to back: several minutes."""
    if "chaos_long" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the long chaos test runs with -m chaos_long (or bench/chaos.py --rounds 1000)")
    rounds = int(os.environ.get("NODEWORKS_CHAOS_ROUNDS", "1000"))
    seed = os.environ.get("NODEWORKS_CHAOS_SEED")
    _session(tmp_path_factory, capsys, rounds=rounds, min_runs=2, round_pause=(0.1, 0.9),
             seed=int(seed) if seed else None)
