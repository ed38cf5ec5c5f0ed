"""Writes of the triggers app: triggers, pushed events and what they started, timers and their fires.

Every run starts through workflows' `run_create`, the service behind the execute API, so overrides,
NUL refusal and limits are checked exactly as there. Each start sits in its own savepoint: one trigger
or timer that cannot start (deleted workflow, vanished revision, a bad override) is recorded with its
reason and never undoes or stops the others.
"""

import datetime
import hashlib
import json
import logging
import re

from croniter import CroniterBadDateError, croniter
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from nodeworks_server.env import env_int
from nodeworks_server.errors import Conflict, DomainError, InvalidInput, TooLarge
from nodeworks_server.json_limits import json_depth_ok
from nodeworks_server.storable_text import storable_free_text, unstorable_text
from triggers.models import Delivery, Event, FireOutcome, Timer, TimerState, Trigger
from triggers.payload_paths import MissingPayloadKey, mapped_inputs, mapping_validate
from workflows import selectors
from workflows.models import Run, Workflow
from workflows.override_selectors import overrides_check
from workflows.services.runs import run_create

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/@+-]{0,199}")
IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as the IETF draft's examples
MAX_INTERVAL_S = 366 * 24 * 3600


def _limit(name: str, default: int) -> int:
    """A Django setting of that name (tests), else the environment variable, else the default."""
    return getattr(settings, name, None) or env_int(name, default)


def max_payload_bytes() -> int:
    return _limit("NODEWORKS_EVENT_MAX_PAYLOAD_BYTES", 1024 * 1024)


def max_payload_depth() -> int:
    return _limit("NODEWORKS_EVENT_MAX_PAYLOAD_DEPTH", 32)


def _name_check(name: str, field: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidInput(
            "1 to 200 characters: letters, digits and _ . : / @ + -, not starting with a symbol", field=field
        )
    return name


def _label_check(name: str, field: str) -> str:
    """A name for people: free text, but one line and storable."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("1 to 200 characters, not only spaces", field=field)
    if any(ord(char) < 32 or ord(char) == 127 for char in name) or unstorable_text(name, field):
        raise InvalidInput("no control characters, NUL or lone surrogates", field=field)
    return name


def _start(*, user, workflow: Workflow | None, revision: str, inputs: dict, reuse: bool = True) -> Run:
    """A run through the execute API's own service, in a savepoint; DomainError says why it could not."""
    if workflow is None:
        raise InvalidInput("its workflow was deleted")
    try:
        with transaction.atomic():
            run = run_create(user=user, workflow=workflow, revision=revision or None, inputs=inputs, reuse=reuse)
    except DomainError:
        raise
    except Exception as exc:  # a broken git repository, a database error: this start only
        logger.exception("could not start a run of workflow %s", workflow.pk)
        raise InvalidInput(f"could not start: {storable_free_text(str(exc))[:500]}") from exc
    return run


# ---------------------------------------------------------------- triggers


@transaction.atomic
def trigger_create(
    *, user, event: str, workflow_id: int, revision: str = "", inputs: dict | None = None,
    shared: bool = False, enabled: bool = True,
) -> Trigger:
    _name_check(event, "event")
    workflow = selectors.workflow_get(user=user, workflow_id=workflow_id)
    sha = selectors.revision_resolve(workflow=workflow, revision=revision) if revision else ""
    mapping = mapping_validate(inputs or {})
    problem = unstorable_text(mapping, "inputs")
    if problem:
        raise InvalidInput(problem, field="inputs")
    # The keys name terminals of today's revision; each push checks them again against the one it runs.
    overrides_check(workflow=workflow, revision=sha or None, inputs=dict.fromkeys(mapping))
    return Trigger.objects.create(
        owner=user, event=event, workflow=workflow, revision=sha, inputs=mapping, shared=shared, enabled=enabled
    )


@transaction.atomic
def trigger_delete(*, trigger: Trigger) -> None:
    trigger.delete()


# ---------------------------------------------------------------- events


def _payload_check(payload) -> None:
    dumped = json.dumps(payload, ensure_ascii=False)
    size = len(dumped.encode("utf-8", "surrogatepass"))
    if size > max_payload_bytes():
        raise TooLarge(f"payload is {size} bytes; at most {max_payload_bytes()}", field="payload")
    if not json_depth_ok(payload, max_payload_depth()):
        raise InvalidInput(f"payload nests deeper than {max_payload_depth()} levels", field="payload")
    problem = unstorable_text(payload, "payload")
    if problem:
        raise InvalidInput(problem, field="payload")


def _digest(name: str, payload) -> str:
    canonical = json.dumps({"name": name, "payload": payload}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(event: Event, digest: str) -> dict:
    if event.body_digest != digest:
        raise Conflict(
            f"Idempotency-Key was used for event {event.pk} with a different body; use a new key",
            field="Idempotency-Key",
        )
    return event.answer


def listening_triggers(*, user, name: str):
    """The owner's enabled triggers for `name`; an admin's event also reaches every user's shared ones."""
    triggers = Trigger.objects.filter(event=name, enabled=True).select_related("workflow")
    if user.is_staff:
        return triggers.filter(Q(owner=user) | Q(shared=True)).order_by("id")
    return triggers.filter(owner=user).order_by("id")


def event_push(*, user, name: str, payload, idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Records the event and starts every listening trigger's workflow: (the answer, replayed?).

    With an idempotency key, a retry of the same body gets the first answer and starts nothing; a
    different body under a used key is a Conflict. Two pushes racing with one key meet at the unique
    constraint: the loser reads the winner's answer once it has committed."""
    _name_check(name, "name")
    _payload_check(payload)
    if idempotency_key is not None and not IDEMPOTENCY_KEY_RE.fullmatch(idempotency_key):
        raise InvalidInput("1 to 255 visible ASCII characters", field="Idempotency-Key")
    digest = _digest(name, payload)
    if idempotency_key is not None:
        earlier = Event.objects.filter(owner=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return _replay(earlier, digest), True
    try:
        with transaction.atomic():
            return _event_record(user=user, name=name, payload=payload, key=idempotency_key, digest=digest), False
    except IntegrityError:
        earlier = Event.objects.filter(owner=user, idempotency_key=idempotency_key).first()
        if idempotency_key is None or earlier is None:
            raise
        return _replay(earlier, digest), True


def _event_record(*, user, name: str, payload, key: str | None, digest: str) -> dict:
    event = Event.objects.create(
        owner=user, name=name, payload=payload, idempotency_key=key or "", body_digest=digest
    )
    runs, failures = [], []
    for trigger in listening_triggers(user=user, name=name):
        run, error = None, ""
        try:
            inputs = mapped_inputs(trigger.inputs, payload)
            run = _start(user=user, workflow=trigger.workflow, revision=trigger.revision, inputs=inputs)
        except MissingPayloadKey as exc:
            error = f"not started: {exc}"
        except DomainError as exc:
            error = f"not started: {exc.message}"
        Delivery.objects.create(event=event, trigger=trigger, workflow=trigger.workflow, run=run, error=error)
        if run is not None:
            runs.append({"trigger": trigger.pk, "workflow": trigger.workflow_id, "run": run.pk})
        else:
            failures.append({"trigger": trigger.pk, "workflow": trigger.workflow_id, "reason": error})
    event.answer = {
        "event": {"id": event.pk, "name": name, "created": event.created.isoformat().replace("+00:00", "Z")},
        "runs": runs,
        "failures": failures,
    }
    event.save(update_fields=["answer"])
    return event.answer


# ---------------------------------------------------------------- timers


def cron_check(expression: str) -> str:
    expression = " ".join(expression.split())
    if expression.startswith("@"):
        valid = expression in ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
    else:
        valid = len(expression.split(" ")) == 5 and croniter.is_valid(expression)
    if valid:
        try:
            _cron_next(expression, timezone.now())
        except CroniterBadDateError:
            raise InvalidInput(f"{expression!r} never matches a date (e.g. February 31)", field="cron") from None
    else:
        raise InvalidInput(
            f"{expression[:100]!r} is not a cron expression: five fields 'minute hour day month weekday' "
            "(e.g. '*/5 * * * *'), or @hourly, @daily, @weekly, @monthly, @yearly; times are UTC",
            field="cron",
        )
    return expression


def _cron_next(expression: str, after: datetime.datetime) -> datetime.datetime:
    return croniter(expression, after).get_next(datetime.datetime)


@transaction.atomic
def timer_start(
    *, user, name: str, workflow_id: int, revision: str = "", at: datetime.datetime | None = None,
    interval_s: int | None = None, cron: str = "", inputs: dict | None = None, overlap: bool = False,
    now: datetime.datetime | None = None,
) -> Timer:
    now = now or timezone.now()
    _label_check(name, "name")
    if sum(1 for given in (at is not None, interval_s is not None, bool(cron)) if given) != 1:
        raise InvalidInput("give exactly one of at, interval_s and cron", field="schedule")
    workflow = selectors.workflow_get(user=user, workflow_id=workflow_id)
    sha = selectors.revision_resolve(workflow=workflow, revision=revision) if revision else ""
    inputs = inputs or {}
    problem = unstorable_text(inputs, "inputs")
    if problem:
        raise InvalidInput(problem, field="inputs")
    overrides_check(workflow=workflow, revision=sha or None, inputs=inputs)
    if at is not None:
        if at <= now:
            raise InvalidInput(f"{at.isoformat()} is in the past (now is {now.isoformat()})", field="at")
        first = at
    elif interval_s is not None:
        if not 1 <= interval_s <= MAX_INTERVAL_S:
            raise InvalidInput(f"must be 1 to {MAX_INTERVAL_S} seconds", field="interval_s")
        first = now + datetime.timedelta(seconds=interval_s)
    else:
        cron = cron_check(cron)
        first = _cron_next(cron, now)
    return Timer.objects.create(
        owner=user, name=name, workflow=workflow, revision=sha, at=at, interval_s=interval_s, cron=cron,
        inputs=inputs, overlap=overlap, next_fire=first, created=now,  # the schedule counts from `created`
    )


@transaction.atomic
def timer_stop(*, timer: Timer) -> Timer:
    Timer.objects.filter(pk=timer.pk, state=TimerState.ACTIVE).update(state=TimerState.STOPPED, next_fire=None)
    timer.refresh_from_db()
    return timer


@transaction.atomic
def timer_delete(*, timer: Timer) -> None:
    timer.delete()


def _after_fire(timer: Timer, scheduled: datetime.datetime, now: datetime.datetime):
    """(next fire, state) once the fire due at `scheduled` is taken at `now`. Missed fires are not
    caught up (Q_CLUSTER's catch_up is False too): an interval keeps its phase, a cron looks from now."""
    if timer.at is not None:
        return None, TimerState.FINISHED
    if timer.interval_s:
        step = datetime.timedelta(seconds=timer.interval_s)
        return scheduled + step * ((now - scheduled) // step + 1), TimerState.ACTIVE
    return _cron_next(timer.cron, now), TimerState.ACTIVE


def timers_fire_due(*, now: datetime.datetime | None = None, limit: int = 100) -> int:
    """Fires every active timer that is due; the number of fires taken. Called every half second by
    the timer loop (triggers/timer_loop.py) and every minute by a django-q2 schedule as a backstop."""
    now = now or timezone.now()
    due = list(
        Timer.objects.filter(state=TimerState.ACTIVE, next_fire__lte=now)
        .order_by("next_fire")
        .values_list("pk", "next_fire")[:limit]
    )
    taken = 0
    for pk, scheduled in due:
        try:
            taken += timer_fire(timer_id=pk, scheduled=scheduled, now=now)
        except Exception:  # one timer's trouble never stops the others
            logger.exception("timer %s: fire failed", pk)
    return taken


@transaction.atomic
def timer_fire(*, timer_id: int, scheduled: datetime.datetime, now: datetime.datetime) -> bool:
    """One fire of a due timer, exactly once: the claim moves `next_fire` on only if it is still the
    one we read (a conditional UPDATE checked for one row), so two loops (two hosts) never both fire
    it, and a stop that came first wins. Claim, run and record commit together."""
    timer = Timer.objects.select_related("workflow", "owner", "last_run").get(pk=timer_id)
    try:
        next_fire, state = _after_fire(timer, scheduled, now)
    except CroniterBadDateError:  # checked at the start; should the search still fail, stop rather than spin
        next_fire, state = None, TimerState.STOPPED
    claimed = Timer.objects.filter(pk=timer_id, state=TimerState.ACTIVE, next_fire=scheduled).update(
        next_fire=next_fire, state=state, last_fire=now
    )
    if claimed != 1:
        return False
    record = {}
    previous = timer.last_run
    if not timer.overlap and previous is not None and previous.state not in Run.FINAL_STATES:
        record = {
            "last_outcome": FireOutcome.SKIPPED,
            "last_reason": f"skipped: run {previous.pk} is still {previous.state} (overlap is off)",
            "skips": F("skips") + 1,
        }
    else:
        try:
            # reuse off: time is why a timer runs (new data outside, a clock), so every node runs again; an
            # event's run reuses what its payload did not change, as an execute call does
            run = _start(
                user=timer.owner, workflow=timer.workflow, revision=timer.revision, inputs=timer.inputs, reuse=False,
            )
        except DomainError as exc:
            record = {"last_outcome": FireOutcome.FAILED, "last_reason": exc.message, "failures": F("failures") + 1}
            if timer.workflow_id is None:  # for good: nothing left to run
                record.update(state=TimerState.STOPPED, next_fire=None)
        else:
            record = {"last_outcome": FireOutcome.STARTED, "last_reason": "", "last_run": run, "fires": F("fires") + 1}
    Timer.objects.filter(pk=timer_id).update(**record)
    return True
