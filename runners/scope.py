"""Who may run whose tasks, in both directions, from one place.

SPEC.md: a runner serves only the workflows of the user who registered it; a runner registered by an
admin may be shared with all users or with listed users. The claim asks it one way (the owners a
runner serves: `served_owner_ids`), "why is it waiting?" the other (the runners that serve an owner:
`runners_serving`); tests/test_one_rule_each.py checks that the two agree.
"""

from django.db.models import Q, QuerySet

from runners.models import Runner
from workflows.lifecycle import RunnerScope
from workflows.runner_facts import RunnerFacts


def served_owner_ids(runner: Runner) -> tuple[int, ...] | None:
    """Whose tasks this runner may take (None: anyone's): its owner's, or, for an admin's runner,
    those it is shared with."""
    if runner.owner.is_staff and runner.shared_with_all:
        return None
    if runner.owner.is_staff:
        return (runner.owner_id, *runner.shared_with.values_list("pk", flat=True))
    return (runner.owner_id,)


def runners_serving(owner_id: int) -> QuerySet[Runner]:
    """The runners that may take this owner's tasks: the same rule, as a filter."""
    staff_shared = Q(owner__is_staff=True) & (Q(shared_with_all=True) | Q(shared_with__id=owner_id))
    return Runner.objects.filter(Q(owner_id=owner_id) | staff_shared).distinct().order_by("name", "id")


def runner_scope(runner: Runner) -> RunnerScope:
    """What the runner may take, as plain values for the lifecycle's claim."""
    return RunnerScope(
        id=runner.pk,
        owner_ids=served_owner_ids(runner),
        tags=tuple(runner.tags),
        executors=tuple(runner.executors),
        offered_executors=tuple(runner.offered_executors or ()),
        accepting=not (runner.paused or runner.shutdown_requested),
    )


def runner_facts_serving(owner_id: int) -> list[RunnerFacts]:
    """The port workflows reads for "why is it waiting?" (workflows/runner_facts.py)."""
    return [
        RunnerFacts(
            name=runner.name,
            tags=tuple(runner.tags),
            executors=tuple(runner.executors),
            online=runner.is_online,
            accepting=not (runner.paused or runner.shutdown_requested),
            last_seen=runner.last_contact,
        )
        for runner in runners_serving(owner_id)
    ]
