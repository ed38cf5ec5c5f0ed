"""The per-task path made cheap (issue 12) without giving up a guarantee.

* Results that finish together are spooled as one file with one fsync; every one of them is still on
  disk before it is sent, survives a restart, and the file goes only when all were answered for.
* A task that ends before ``ANNOUNCE_AFTER_S`` is never announced by a heartbeat (its result carries
  ``started``); a longer one is, soon after it starts.
* Prefetch: while tasks are short, up to ``--prefetch`` tasks more than the slots are leased; long
  tasks never prefetch.
* Per-task log lines are DEBUG; a summary line counts them.
"""

from __future__ import annotations

import json

from fake_server import make_task
from test_worker_loop import loop_config, nap, power_node  # noqa: F401 (a fixture, and the nodes it runs)

from nodeworks_runner.heartbeats import ANNOUNCE_AFTER_S
from nodeworks_runner.slots import QUICK_TASK_S, Slots
from nodeworks_runner.spool import Spool
from nodeworks_runner.worker import Runner


def entry(spool: Spool, n: int) -> dict:
    return spool.new_entry(task={"lease_id": "lease-%d" % n, "task_id": n}, state="succeeded", outputs={"n": n},
                           error="", started="", finished="", artifacts=[], log_offset=0, log_data="", workdir="",
                           save=False)


def test_results_spooled_together_are_one_file_until_all_are_answered(tmp_path):
    spool = Spool(tmp_path / "spool")
    entries = [entry(spool, n) for n in range(3)]
    spool.save_many(entries)
    [batch] = list((tmp_path / "spool").iterdir())
    assert [e["lease_id"] for e in json.loads(batch.read_text())] == ["lease-0", "lease-1", "lease-2"]

    entries[1]["tries"] = 2  # a later change of one of them goes to its own file
    spool.save(entries[1])
    spool.remove("lease-0")
    again = Spool(tmp_path / "spool")  # a restart: the batch and the newer own file, merged
    assert sorted(again.entries) == ["lease-0", "lease-1", "lease-2"]  # lease-0 is resent: a duplicate answer
    assert again.get("lease-1")["tries"] == 2

    spool.remove("lease-1")
    assert batch.exists()  # lease-2 is not answered for yet
    spool.remove("lease-2")
    assert list((tmp_path / "spool").iterdir()) == []
    assert Spool(tmp_path / "spool").entries == {}


def test_prefetch_only_while_tasks_are_short():
    slots = Slots(2, prefetch=3)
    assert slots.free() == 2  # nothing known yet: no prefetch
    for _ in range(5):
        slots.note_run_time(0.01)
    assert slots.free() == 5
    for _ in range(20):
        slots.note_run_time(QUICK_TASK_S * 3)
    assert slots.free() == 2
    assert Slots(2).free() == 2  # the default of the class: none


def test_quick_tasks_are_not_announced_and_a_long_one_is(loop_config, fake_server, caplog):  # noqa: F811
    loop_config.heartbeat_s = 30.0  # only the announcements
    quick = [make_task(n, power_node(), {"base": n, "exponent": 2}) for n in range(1, 41)]
    long = nap(99, ANNOUNCE_AFTER_S + 1.5)
    fake_server.add(*quick, long)
    with caplog.at_level("INFO", logger="nodeworks_runner"):
        assert Runner(loop_config).run(once=True) == 0
    assert all(fake_server.result_for(n)["state"] == "succeeded" for n in range(1, 41))
    assert fake_server.result_for(99)["state"] == "succeeded"
    announced = {lease for body in fake_server.heartbeats for lease in body.get("running") or {}}
    assert long["lease_id"] in announced
    # The runner's first heartbeat (due as soon as it holds leases) names what runs at that moment;
    # no quick task after that is announced, where each used to cost a heartbeat of its own.
    assert len(announced & {task["lease_id"] for task in quick}) <= loop_config.concurrency
    assert len(fake_server.heartbeats) < 10, len(fake_server.heartbeats)
    text = caplog.text
    assert "leased " in text and "succeeded" in text  # the summary line
    assert "accepted" in text and text.count("result of task") == 0  # no line per task at INFO


def test_prefetch_leases_at_most_its_bound_beyond_the_slots(loop_config, fake_server):  # noqa: F811
    loop_config.concurrency, loop_config.prefetch = 2, 3
    fake_server.add(*[make_task(n, power_node(), {"base": 2, "exponent": n}) for n in range(1, 31)])
    assert Runner(loop_config).run(once=True) == 0
    assert [fake_server.result_for(n)["outputs"] for n in range(1, 31)] == [{"result": 2 ** n} for n in range(1, 31)]
    wanted = [body["max_tasks"] for name, body in fake_server.bodies if name == "lease"]
    wanted += [body["lease"]["max_tasks"] for name, body in fake_server.bodies if name == "results" and "lease" in body]
    assert max(wanted) > 2  # quick tasks: more than the free slots were asked for
    assert fake_server.most_leased <= 2 + 3
