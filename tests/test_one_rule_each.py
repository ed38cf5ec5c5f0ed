"""Rules that have more than one form keep one meaning: who may run whose tasks (asked both ways),
the online window (a property and a filter), and the domain errors' HTTP mapping."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nodeworks_server import errors
from nodeworks_server.exceptions import api_exception_handler
from runners.models import Runner, online_since
from runners.scope import runners_serving, served_owner_ids
from runners.services import runner_register
from tests.conftest import make_user
from workflows import runner_facts


@pytest.mark.django_db
def test_who_may_run_whose_tasks_is_the_same_rule_both_ways():
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    admin = make_user("admin", staff=True)
    runners = [runner_register(user=owner, name=name, tags=[], executors=["local"])[0] for owner, name in (
        (alice, "alice-own"), (alice, "alice-shared-flag"), (admin, "admin-own"), (admin, "admin-bob"),
        (admin, "admin-all"),
    )]
    by_name = {runner.name: runner for runner in runners}
    # A user's runner cannot be shared (the flag is ignored); an admin's can, with some or all.
    Runner.objects.filter(pk=by_name["alice-shared-flag"].pk).update(shared_with_all=True)
    by_name["admin-bob"].shared_with.add(bob)
    Runner.objects.filter(pk=by_name["admin-all"].pk).update(shared_with_all=True)

    owners = [alice, bob, carol, admin]
    for runner in Runner.objects.select_related("owner"):
        served = served_owner_ids(runner)
        for owner in owners:
            one_way = served is None or owner.pk in served
            other_way = runners_serving(owner.pk).filter(pk=runner.pk).exists()
            assert one_way == other_way, (runner.name, owner.username)
    assert {r.name for r in runners_serving(bob.pk)} == {"admin-bob", "admin-all"}
    assert {r.name for r in runners_serving(alice.pk)} == {"alice-own", "alice-shared-flag", "admin-all"}
    assert [facts.name for facts in runner_facts.runners_serving(carol.pk)] == ["admin-all"]


@pytest.mark.django_db
def test_the_online_window_is_one_rule(settings):
    settings.RUNNER_HEARTBEAT_INTERVAL_S = 10
    owner = make_user("owner")
    now = timezone.now()
    for seconds in (0, 19, 21, 60):
        runner, _ = runner_register(user=owner, name=f"seen-{seconds}s-ago", tags=[], executors=["local"])
        Runner.objects.filter(pk=runner.pk).update(last_contact=now - timedelta(seconds=seconds))
    runner_register(user=owner, name="never-seen", tags=[], executors=["local"])
    online = {runner.name for runner in Runner.objects.all() if runner.is_online}
    assert online == {"seen-0s-ago", "seen-19s-ago"}
    assert set(Runner.objects.filter(last_contact__gte=online_since()).values_list("name", flat=True)) == online


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (errors.NotFound("run 5 not found"), 404, {"detail": "run 5 not found"}),
        (errors.InvalidInput("bad", field="inputs"), 400, {"detail": "inputs: bad", "errors": {"inputs": ["bad"]}}),
        (errors.InvalidInput("short", field="password", more=("common",)), 400,
         {"detail": "password: short", "errors": {"password": ["short", "common"]}}),
        (errors.Conflict("moved on"), 409, {"detail": "moved on"}),
        (errors.TooLarge("too big"), 413, {"detail": "too big"}),
    ],
)
def test_each_domain_error_maps_to_one_status(error, status, body):
    response = api_exception_handler(error, {})
    assert (response.status_code, response.data) == (status, body)


def test_a_lease_that_is_not_current_is_a_conflict():
    from workflows.lifecycle import LeaseNotCurrent

    assert api_exception_handler(LeaseNotCurrent("lease x is not current"), {}).status_code == 409
