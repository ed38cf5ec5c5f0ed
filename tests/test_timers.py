"""Timers (issue 13, item 2): validation, fires claimed once, overlap skipped and recorded, one timer's
failure kept to itself; and with a real `manage.py qcluster` process, a 2-second timer that fires on
time and stops when stopped."""

import datetime
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.utils import timezone

from tests.conftest import nc_file, publish
from tests.runner.conftest import (  # noqa: F401 (fixtures of the live server and real runners)
    ROOT,
    live_server_url,
    make_api_user,
    nc_sample,
    runner_live_server,
    start_runner,
    user_api,
)
from triggers.models import Timer
from triggers.services import timer_fire, timers_fire_due
from workflows.lifecycle import runs_cancel
from workflows.models import Run

pytestmark = pytest.mark.django_db


def _workflow(client, name: str = "w") -> int:
    response = publish(client, name, nc_file("product.nc"))
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _start(client, **body):
    return client.post("/api/v1/timers/start", {"name": "t", **body}, format="json")


def _started(client, **body) -> Timer:
    response = _start(client, **body)
    assert response.status_code == 201, response.json()
    return Timer.objects.get(pk=response.json()["id"])


def _at(seconds: float) -> str:
    return (timezone.now() + datetime.timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize(
    ("schedule", "field", "words"),
    [
        ({"cron": "61 * * * *"}, "cron", "not a cron expression"),
        ({"cron": "every day"}, "cron", "not a cron expression"),
        ({"cron": "* * * * * *"}, "cron", "five fields"),
        ({"cron": "@sometimes"}, "cron", "not a cron expression"),
        ({"cron": "0 0 31 2 *"}, "cron", "never matches"),
        ({"interval_s": 0}, "interval_s", ""),
        ({"interval_s": 2.5}, "interval_s", ""),
        ({"at": "2001-01-01T00:00:00Z"}, "at", "in the past"),
        ({"at": "yesterday"}, "at", ""),
        ({}, "schedule", "exactly one"),
        ({"interval_s": 5, "cron": "* * * * *"}, "schedule", "exactly one"),
    ],
)
def test_a_bad_schedule_is_400_and_starts_nothing(alice_client, schedule, field, words):
    response = _start(alice_client, workflow=_workflow(alice_client), **schedule)
    assert response.status_code == 400, response.json()
    assert response.json()["detail"].startswith(field) and words in response.json()["detail"]
    assert not Timer.objects.exists()


def test_a_cron_timer_fires_at_the_next_matching_minute(alice_client):
    timer = _started(alice_client, workflow=_workflow(alice_client), cron="*/5 * * * *")
    assert timer.next_fire.minute % 5 == 0 and timer.next_fire.second == 0
    assert timezone.now() < timer.next_fire <= timezone.now() + datetime.timedelta(minutes=5)
    assert timers_fire_due(now=timer.next_fire) == 1
    timer.refresh_from_db()
    assert timer.fires == 1 and timer.last_run.workflow_id == timer.workflow_id
    assert (timer.next_fire - timer.last_fire) <= datetime.timedelta(minutes=5) and timer.next_fire.minute % 5 == 0


def test_an_at_timer_fires_once_with_its_inputs(alice_client):
    timer = _started(alice_client, workflow=_workflow(alice_client), at=_at(30), inputs={"float.float": 4.0})
    assert timers_fire_due(now=timer.next_fire - datetime.timedelta(seconds=1)) == 0
    assert timers_fire_due(now=timer.next_fire + datetime.timedelta(seconds=1)) == 1
    assert timers_fire_due(now=timer.next_fire + datetime.timedelta(hours=1)) == 0
    timer.refresh_from_db()
    assert timer.state == "finished" and timer.next_fire is None and timer.fires == 1
    assert Run.objects.get().input_overrides == {"float.float": 4.0}


def test_an_overlapping_fire_is_skipped_while_the_previous_run_is_going(alice_client):
    workflow = _workflow(alice_client)
    timer = _started(alice_client, workflow=workflow, interval_s=2)
    first = timer.next_fire
    assert timers_fire_due(now=first) == 1
    assert timers_fire_due(now=first + datetime.timedelta(seconds=2)) == 1  # taken, but skipped
    timer.refresh_from_db()
    run = Run.objects.get()  # no runner: the first run is still going
    assert (timer.fires, timer.skips, timer.last_outcome) == (1, 1, "skipped")
    assert f"run {run.pk} is still running" in timer.last_reason
    status = alice_client.get("/api/v1/timers/status").json()[0]
    assert status["last_run"] == {"id": run.pk, "state": "running"} and status["skips"] == 1

    runs_cancel(runs=Run.objects.all())
    assert timers_fire_due(now=first + datetime.timedelta(seconds=4)) == 1
    timer.refresh_from_db()
    assert (timer.fires, timer.skips, timer.last_outcome, timer.last_reason) == (2, 1, "started", "")
    assert Run.objects.count() == 2


def test_overlap_true_starts_a_run_on_every_fire(alice_client):
    timer = _started(alice_client, workflow=_workflow(alice_client), interval_s=2, overlap=True)
    for step in range(3):
        timers_fire_due(now=timer.next_fire + datetime.timedelta(seconds=2 * step))
    timer.refresh_from_db()
    assert (timer.fires, timer.skips) == (3, 0) and Run.objects.count() == 3


def test_missed_fires_are_not_caught_up_and_the_phase_is_kept(alice_client):
    timer = _started(alice_client, workflow=_workflow(alice_client), interval_s=10, overlap=True)
    first = timer.next_fire
    assert timers_fire_due(now=first + datetime.timedelta(seconds=35)) == 1
    timer.refresh_from_db()
    assert timer.next_fire == first + datetime.timedelta(seconds=40) and Run.objects.count() == 1


def test_a_fire_is_claimed_once(alice_client):
    timer = _started(alice_client, workflow=_workflow(alice_client), interval_s=5, overlap=True)
    scheduled, now = timer.next_fire, timer.next_fire + datetime.timedelta(milliseconds=10)
    assert timer_fire(timer_id=timer.pk, scheduled=scheduled, now=now) is True
    assert timer_fire(timer_id=timer.pk, scheduled=scheduled, now=now) is False  # a second loop read it too
    assert Run.objects.count() == 1


def test_one_timers_failure_is_recorded_on_it_and_never_stops_the_others(alice_client):
    changed_wf = _workflow(alice_client, "a")
    bad_inputs = _started(alice_client, workflow=changed_wf, interval_s=2, inputs={"float.float": 1.0})
    # Its latest revision no longer has the node the timer's inputs name.
    arithmetic = alice_client.post(f"/api/v1/workflow/publish/{changed_wf}", {"workflow": nc_file("arithmetic.nc")},
                                   format="json")
    assert arithmetic.status_code == 201
    gone_id = _workflow(alice_client, "gone")
    gone = _started(alice_client, workflow=gone_id, interval_s=2)
    good = _started(alice_client, workflow=_workflow(alice_client, "good"), interval_s=2)
    assert alice_client.delete(f"/api/v1/workflow/delete/{gone_id}").status_code in (200, 204)

    assert timers_fire_due(now=timezone.now() + datetime.timedelta(seconds=3)) == 3

    for timer in (bad_inputs, gone, good):
        timer.refresh_from_db()
    assert (bad_inputs.last_outcome, bad_inputs.failures, bad_inputs.state) == ("failed", 1, "active")
    assert "'float.float' names no node terminal" in bad_inputs.last_reason
    assert (gone.last_outcome, gone.state, gone.next_fire) == ("failed", "stopped", None)
    assert "workflow was deleted" in gone.last_reason
    assert (good.last_outcome, good.fires) == ("started", 1)
    assert Run.objects.get().workflow_id == good.workflow_id


def test_stop_and_delete_and_another_users_timers_are_404(alice_client, bob_client):
    alices_wf = _workflow(alice_client)
    timer = _started(alice_client, workflow=alices_wf, interval_s=60)
    for method, path in [("post", f"/api/v1/timers/stop/{timer.pk}"), ("get", f"/api/v1/timers/{timer.pk}"),
                         ("delete", f"/api/v1/timers/{timer.pk}")]:
        assert getattr(bob_client, method)(path).status_code == 404
    assert bob_client.get("/api/v1/timers/status").json() == []
    assert _start(bob_client, workflow=alices_wf, interval_s=5).status_code == 404

    stopped = alice_client.post(f"/api/v1/timers/stop/{timer.pk}").json()
    assert (stopped["state"], stopped["next_fire"]) == ("stopped", None)
    assert timers_fire_due(now=timezone.now() + datetime.timedelta(hours=1)) == 0
    assert alice_client.post(f"/api/v1/timers/stop/{timer.pk}").json()["state"] == "stopped"
    assert alice_client.delete(f"/api/v1/timers/{timer.pk}").status_code == 204
    assert alice_client.get(f"/api/v1/timers/{timer.pk}").status_code == 404
    assert not Run.objects.exists()


def test_a_timer_pins_a_revision_and_refuses_unstorable_inputs(alice_client):
    workflow = _workflow(alice_client)
    sha = alice_client.get(f"/api/v1/workflow/history/{workflow}").json()[0]["revision"]
    assert _start(alice_client, workflow=workflow, interval_s=5, revision="f" * 40).status_code == 404
    bad = _start(alice_client, workflow=workflow, interval_s=5, inputs={"float.float": "a\u0000b"})
    assert bad.status_code == 400 and "NUL" in bad.json()["detail"]
    typo = _start(alice_client, workflow=workflow, interval_s=5, inputs={"flaot.float": 2.0})
    assert typo.status_code == 400 and "'flaot.float' names no node terminal" in typo.json()["detail"]
    for name in ("", "   ", "tab\there", "x" * 201):
        assert _start(alice_client, workflow=workflow, interval_s=5, name=name).status_code == 400
    assert not Timer.objects.exists()
    assert _started(alice_client, workflow=workflow, interval_s=5, name="nightly build (prod)").name == "nightly build (prod)"
    timer = _started(alice_client, workflow=workflow, interval_s=5, revision=sha[:8])
    assert timer.revision == sha


# ---------------------------------------------------------------- a real django-q2 cluster


class QCluster:
    """`manage.py qcluster` against the live server's database and data directory."""

    def __init__(self, server, log_path):
        self.log_path = log_path
        log = open(log_path, "ab")  # noqa: SIM115 (lives as long as the cluster)
        self.process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=server.env,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_loop(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "timer loop: running" not in self.log():
            assert self.process.poll() is None, self.log()[-3000:]
            assert time.monotonic() < deadline, "the timer loop did not start:\n" + self.log()[-3000:]
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def qcluster(runner_live_server, tmp_path_factory):  # noqa: F811
    cluster = QCluster(runner_live_server, tmp_path_factory.mktemp("qcluster") / "qcluster.log")
    cluster.wait_loop()
    yield cluster
    cluster.stop()


def _timer(api, timer_id: int) -> dict:
    return next(t for t in api.get("/api/v1/timers/status") if t["id"] == timer_id)


def _runs(api, workflow: int) -> list[dict]:
    return api.get(f"/api/v1/workflow/runs/{workflow}?page_size=200")["results"]


def _iso(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.slow
def test_a_two_second_timer_fires_on_time_and_stops_when_stopped(qcluster, user_api, start_runner):  # noqa: F811
    start_runner("timer-runner")
    workflow = user_api.post("/api/v1/workflow/publish",
                             {"name": f"wf-{uuid.uuid4().hex[:8]}", "workflow": nc_sample("product.nc")})["id"]
    # overlap: every fire starts a run however slow the runner is on a busy machine (skips are tested below).
    timer = user_api.post("/api/v1/timers/start", {"name": "every-2s", "workflow": workflow, "interval_s": 2,
                                                   "inputs": {"float.float": 2.0}, "overlap": True})
    time.sleep(7)
    status = _timer(user_api, timer["id"])
    assert status["fires"] >= 2, (status, qcluster.log()[-3000:])
    runs = sorted(_runs(user_api, workflow), key=lambda run: run["id"])
    assert len(runs) == status["fires"]
    # The fires are due at created + 2 s, + 4 s, ...: the first run starts within 2 s of its time, and no
    # slot starts two runs.
    elapsed = [(_iso(run["created"]) - _iso(timer["created"])).total_seconds() for run in runs]
    assert 2 <= elapsed[0] < 4, elapsed
    slots = [int(seconds // 2) for seconds in elapsed]
    assert len(set(slots)) == len(slots), elapsed
    assert status["last_run"]["id"] == runs[-1]["id"]

    stopped = user_api.post(f"/api/v1/timers/stop/{timer['id']}")
    assert stopped["state"] == "stopped" and stopped["next_fire"] is None
    fired = stopped["fires"]
    time.sleep(3.5)
    after = _timer(user_api, timer["id"])
    assert after["fires"] == fired and len(_runs(user_api, workflow)) == fired
    assert all(run["state"] in ("succeeded", "running") for run in _runs(user_api, workflow))
    first = user_api.get(f"/api/v1/workflow/status/{workflow}?run={runs[0]['id']}")
    assert first["run"]["state"] == "succeeded" and first["nodes"]["multiply"]["outputs"]["result"] == 12.0


@pytest.mark.slow
def test_a_live_timer_skips_while_its_run_is_going_unless_overlap(qcluster, make_api_user):  # noqa: F811
    api = make_api_user("norunner")  # no runner serves this user: its runs stay queued
    workflow = api.post("/api/v1/workflow/publish", {"name": "w", "workflow": nc_sample("product.nc")})["id"]
    other = api.post("/api/v1/workflow/publish", {"name": "w2", "workflow": nc_sample("product.nc")})["id"]
    careful = api.post("/api/v1/timers/start", {"name": "careful", "workflow": workflow, "interval_s": 1})
    eager = api.post("/api/v1/timers/start", {"name": "eager", "workflow": other, "interval_s": 1, "overlap": True})
    time.sleep(5.5)
    status = _timer(api, careful["id"])
    assert status["fires"] == 1 and status["skips"] >= 2, status
    assert status["last_outcome"] == "skipped" and "still running" in status["last_reason"]
    assert len(_runs(api, workflow)) == 1
    assert _timer(api, eager["id"])["fires"] >= 3 and _timer(api, eager["id"])["skips"] == 0

    api.post(f"/api/v1/workflow/cancel/{workflow}")  # the previous run is over: the next fire starts one
    deadline = time.monotonic() + 5
    while _timer(api, careful["id"])["fires"] < 2:
        assert time.monotonic() < deadline, _timer(api, careful["id"])
        time.sleep(0.2)
    for timer in (careful, eager):
        api.call("DELETE", f"/api/v1/timers/{timer['id']}")


def test_the_admin_stops_and_deletes_timers(alice_client):
    from django.contrib.auth import get_user_model
    from django.test import Client

    timer = _started(alice_client, workflow=_workflow(alice_client), interval_s=60)
    operator = Client()
    operator.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "a long password x"))
    assert operator.get("/admin/triggers/timer/").status_code == 200
    assert operator.get(f"/admin/triggers/timer/{timer.pk}/change/").status_code == 200
    response = operator.post("/admin/triggers/timer/", {"action": "stop_timers", "_selected_action": [str(timer.pk)]})
    assert response.status_code == 302
    timer.refresh_from_db()
    assert (timer.state, timer.next_fire) == ("stopped", None)
    response = operator.post("/admin/triggers/timer/", {"action": "delete_selected", "_selected_action": [str(timer.pk)],
                                                        "post": "yes"})
    assert response.status_code == 302 and not Timer.objects.exists()


def test_one_loop_per_host_holds_the_lock_and_the_backstop_schedule_names_the_fire_function():
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    from triggers import timer_loop

    holder = timer_loop._try_lock()
    assert holder is not None
    assert timer_loop._try_lock() is None  # another worker of this host only retries
    holder.close()
    second = timer_loop._try_lock()
    assert second is not None  # a dead holder hands the loop on
    second.close()
    backstop = Schedule.objects.get(name="fire due timers (backstop)")
    assert import_string(backstop.func) is timers_fire_due and backstop.minutes == 1
