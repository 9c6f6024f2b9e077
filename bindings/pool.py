"""The X-number pool: choosing X (and Y, and AXE extensions) and keeping the live counts right.

Two rules keep the counts exact under concurrency:

* a binding is added to a number only while that number's row is locked
  (``SELECT … FOR UPDATE SKIP LOCKED``), and the count goes up in the same transaction;
* a binding leaves the live statuses and gives its numbers back in **one** statement, guarded by
  its status, so a count is released exactly once however many workers, beat jobs or people end
  the same binding at the same time (:mod:`bindings.release`).

What a number may carry in each mode (X exclusive to one A or shared up to a capacity, a Y, an
extension) is read from the mode table (:mod:`bindings.modes`).

Rules about one real number across several X (AX and AXYB: an A holds at most 5 X) are serialised
with a PostgreSQL advisory lock on that number (:func:`lock_party`). SQLite, used by the embedded
demo, serialises every write transaction anyway, so the locks are no-ops there.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.utils import timezone

from bindings import cities, modes
from bindings.choices import (
    LIVE_BINDING_STATUSES,
    NumberState,
    PlatformNumberStatus,
)
from bindings.cities import province_of
from bindings.models import Binding, XNumber
from console.sql import prepared_cursor

# Advisory lock namespaces (the first key of pg_advisory_xact_lock(int, int)).
_PARTY_LOCK = 0x50_4E_01  # one real number of one application
_RELEASE_LOCK = 0x50_4E_02  # statements that release many numbers at once

LIVE = [str(status) for status in LIVE_BINDING_STATUSES]


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _signed32(value: int) -> int:
    return value - 2**32 if value >= 2**31 else value


def lock_party(application_id: int, number: str) -> None:
    """Serialise, until commit, every transaction that counts the bindings of ``number``."""
    if not is_postgresql():
        return
    key = _signed32(zlib.crc32(f"{application_id}:{number}".encode()))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_PARTY_LOCK, key])


def lock_releases() -> None:
    """Serialise multi-row releases, which lock many number rows in no particular order."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_RELEASE_LOCK])


# ---------------------------------------------------------------------------------------------
# Choosing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """What a number is chosen for: its capacity rule (as a Q and as SQL) and the count it uses."""

    name: str
    capacity: Q
    capacity_sql: str
    count_field: str
    # Looked for first: Y numbers already serving as Y, so that Y use does not eat the X pool.
    prefer: Q | None = None
    prefer_sql: str = ""


@dataclass(frozen=True)
class Parties:
    """Real numbers that must not be on the chosen X already (as A, or as A or B)."""

    numbers: tuple[str, ...]
    as_a_or_b: bool = True

    def q(self) -> Q:
        numbers = list(self.numbers)
        condition = Q(a_number__in=numbers)
        if self.as_a_or_b:
            condition |= Q(b_number__in=numbers)
        return condition

    def sql(self) -> tuple[str, list[Any]]:
        numbers = list(self.numbers)
        if self.as_a_or_b:
            return "(b.a_number = ANY(%s) OR b.b_number = ANY(%s))", [numbers, numbers]
        return "b.a_number = ANY(%s)", [numbers]


def role_for(mode: str, application, *, as_y: bool = False) -> Role:
    """The capacity rule of spec §4 for a number used in ``mode`` (as X, or as Y), from the
    mode table."""
    found = modes.of(mode)
    if as_y:
        # A Y carries up to its relations and is never anybody's X at the same time.
        limit = found.relations_per_y
        return Role(
            "y",
            Q(binding_count=0, y_binding_count__lt=limit),
            f"n.binding_count = 0 AND n.y_binding_count < {int(limit)}",
            "y_binding_count",
            prefer=Q(y_binding_count__gt=0),
            prefer_sql="n.y_binding_count > 0",
        )
    if found.exclusive_x:
        # One A per X at a time (and such an X is nobody's Y).
        return Role(
            "x",
            Q(binding_count=0, y_binding_count=0),
            "n.binding_count = 0 AND n.y_binding_count = 0",
            "binding_count",
        )
    limit = found.per_x_capacity(application.extension_length)
    return Role("x", Q(binding_count__lt=limit), f"n.binding_count < {int(limit)}", "binding_count")


def parties_for(mode: str, a_number: str, b_number: str = "") -> Parties | None:
    """The real numbers a chosen X must not carry yet in ``mode`` (its ``Avoid``), or None."""
    avoid = modes.of(mode).avoid
    if avoid is None:
        return None
    if avoid.a_or_b:
        return Parties((a_number, b_number), as_a_or_b=True)  # a user number once per X
    return Parties((a_number,), as_a_or_b=False)  # one extension per A per X


def usable(application, now: datetime) -> QuerySet[XNumber]:
    """Numbers that may take a new binding: status 5, not retired, not cooling down, not
    resting (the number-health guard, ``billing.health``).

    The first two conditions are written exactly as the partial indexes' condition so that
    PostgreSQL can use them. ``_SELECT_SQL`` below is the same rule for PostgreSQL; the twin
    tests hold the two to the same answer.
    """
    return (
        XNumber.objects.filter(application=application, platform_status=PlatformNumberStatus.NORMAL)
        .exclude(state__in=[NumberState.RETIRED])
        .filter(Q(cooling_until__isnull=True) | Q(cooling_until__lte=now))
        .filter(Q(resting_until__isnull=True) | Q(resting_until__lte=now))
    )


def city_tiers(city_code: str, loose: bool) -> list[Q]:
    """Where to look, in order: the city; if loose, then the province, then anywhere."""
    return [Q(**{column: value}) if column else Q() for column, value in _tiers(city_code, loose)]


def _tiers(city_code: str, loose: bool) -> list[tuple[str, str]]:
    if not city_code:
        return [("", "")]
    tiers = [("city_code", city_code)]
    if loose:
        province = province_of(city_code)
        if province:
            tiers.append(("province", province))
        tiers.append(("", ""))
    return tiers


def candidates(
    application,
    role: Role,
    tier: Q,
    *,
    now: datetime,
    parties: Parties | None = None,
    exclude_ids: Sequence[int] = (),
) -> QuerySet[XNumber]:
    """Usable numbers of one tier that fit ``role`` and carry none of ``parties``, least loaded
    first (the ORM form of the choice; PostgreSQL runs the same as precompiled SQL)."""
    qs = usable(application, now).filter(tier).filter(role.capacity)
    if parties is not None:
        qs = qs.exclude(
            pk__in=Binding.objects.filter(application=application, status__in=LIVE)
            .filter(parties.q())
            .filter(x__isnull=False)
            .values("x_id")
        )
    if exclude_ids:
        qs = qs.exclude(pk__in=list(exclude_ids))
    return qs.order_by(role.count_field)


def take(
    application,
    role: Role,
    *,
    city_code: str,
    loose: bool,
    now: datetime,
    parties: Parties | None = None,
    exclude_ids: Sequence[int] = (),
    wait_if_locked: bool = True,
) -> XNumber | None:
    """Lock the least loaded usable number that carries none of ``parties`` and count one more
    binding on it; None when the pool has no such number. Must run in a transaction.

    The number is locked with ``FOR UPDATE SKIP LOCKED`` (parallel creates take different
    numbers instead of queueing) and the parties are checked again by the statement that counts
    the binding: it runs after the lock, so it sees every binding committed on that number.
    When every fitting number is locked at that moment (other creates, the expiry job), it waits
    for one instead of refusing, unless ``wait_if_locked`` is off (a transaction that already
    holds a number lock must not wait for another: two such could wait for each other).
    """
    take_one = _take_postgresql if is_postgresql() else _take_orm
    passed = list(exclude_ids)
    # First every tier without waiting; only when that finds nothing, again waiting for locks.
    for skip_locked in (True, False) if wait_if_locked else (True,):
        for tier in _tiers(city_code, loose):
            for narrowed in (True, False) if role.prefer is not None else (False,):
                number = take_one(
                    application, role, tier, narrowed, now, parties, passed, skip_locked
                )
                if number is not None:
                    return number
    return None


_LIVE_SQL = ", ".join(f"'{status}'" for status in LIVE)
# Literal '5' and 'retired' match the partial indexes' condition, so the planner can use them.
_SELECT_SQL = """
    SELECT n.id, n.number, n.city_code, n.province, n.binding_count, n.y_binding_count
    FROM bindings_xnumber n
    WHERE n.application_id = %s AND n.platform_status = '5' AND NOT (n.state IN ('retired'))
      AND (n.cooling_until IS NULL OR n.cooling_until <= %s)
      AND (n.resting_until IS NULL OR n.resting_until <= %s)
      AND {capacity} AND {tier}{passed}{avoid}
    ORDER BY n.{order}
    LIMIT 1
    {lock}
"""
_AVOID_SQL = f"""
      AND n.id NOT IN (
        SELECT b.x_id FROM bindings_binding b
        WHERE b.application_id = %s AND b.status IN ({_LIVE_SQL}) AND b.x_id IS NOT NULL
          AND {{parties}})"""  # noqa: S608 - our constants; values are parameters
_CLAIM_SQL = """
    UPDATE bindings_xnumber SET
        {count} = {count} + 1,
        state = CASE WHEN state = 'retired' THEN state ELSE 'in_use' END,
        cooling_until = CASE WHEN state = 'retired' THEN cooling_until END,
        updated_at = %s
    WHERE id = %s{conflict}
    RETURNING id
"""
_CONFLICT_SQL = f"""
      AND NOT EXISTS (
        SELECT 1 FROM bindings_binding b
        WHERE b.x_id = %s AND b.status IN ({_LIVE_SQL}) AND {{parties}})"""  # noqa: S608


def _take_postgresql(application, role, tier, narrowed, now, parties, passed, skip_locked):
    """One tier: lock a candidate, claim it (re-checking the parties), or try the next one."""
    column, value = tier
    tier_sql, tier_params = (f"n.{column} = %s", [value]) if column else ("TRUE", [])
    if narrowed:
        tier_sql = f"{tier_sql} AND {role.prefer_sql}"
    parties_sql, parties_params = parties.sql() if parties is not None else ("", [])
    lock = "FOR UPDATE OF n SKIP LOCKED" if skip_locked else "FOR UPDATE OF n"
    # Prepared and bound on the server (console.sql): for every binding made, Django's cursor
    # wrote each value into the text on the client and PostgreSQL planned both statements anew
    # (issue 19). They stay two statements: the claim's check of the parties needs a snapshot
    # taken after the SELECT locked the number, to see a binding committed meanwhile.
    with prepared_cursor() as cursor:
        for _attempt in range(20):
            sql = _SELECT_SQL.format(
                capacity=role.capacity_sql,
                tier=tier_sql,
                passed=" AND NOT (n.id = ANY(%s))" if passed else "",
                avoid=_AVOID_SQL.format(parties=parties_sql) if parties else "",
                order=role.count_field,
                lock=lock,
            )
            params: list[Any] = [application.pk, now, now, *tier_params]
            if passed:
                params.append(passed)
            if parties:
                params += [application.pk, *parties_params]
            cursor.execute(sql, params)
            row = cursor.fetchone()
            if row is None:
                return None
            claim = _CLAIM_SQL.format(
                count=role.count_field,
                conflict=_CONFLICT_SQL.format(parties=parties_sql) if parties else "",
            )
            cursor.execute(claim, [now, row[0], *([row[0], *parties_params] if parties else [])])
            if cursor.fetchone() is None:
                passed.append(row[0])  # a binding of these parties landed there meanwhile
                continue
            number = XNumber(
                id=row[0],
                number=row[1],
                application=application,
                city_code=row[2],
                province=row[3],
                binding_count=row[4] + (role.count_field == "binding_count"),
                y_binding_count=row[5] + (role.count_field == "y_binding_count"),
                state=NumberState.IN_USE,
            )
            number._state.adding = False
            return number
    return None


def _take_orm(application, role, tier, narrowed, now, parties, passed, skip_locked):
    column, value = tier
    condition = Q(**{column: value}) if column else Q()
    if narrowed:
        condition &= role.prefer
    for _attempt in range(20):
        number = (
            candidates(application, role, condition, now=now, parties=parties, exclude_ids=passed)
            .select_for_update(skip_locked=skip_locked, of=("self",))
            .first()
        )
        if number is None:
            return None
        if (
            parties is not None
            and Binding.objects.filter(x=number, status__in=LIVE).filter(parties.q()).exists()
        ):
            passed.append(number.pk)
            continue
        count(number, role, +1, now=now)
        return number
    return None


def count(number: XNumber, role: Role, delta: int, *, now: datetime) -> None:
    """Add ``delta`` live bindings to a locked number and update its state."""
    field = role.count_field
    setattr(number, field, getattr(number, field) + delta)
    changes: dict[str, Any] = {field: F(field) + delta, "updated_at": now}
    if delta > 0 and number.state != NumberState.RETIRED:
        changes.update(state=NumberState.IN_USE, cooling_until=None)
        number.state, number.cooling_until = NumberState.IN_USE, None
    XNumber.objects.filter(pk=number.pk).update(**changes)


def free_extension(number: XNumber, application) -> str:
    """A free extension on a locked AXE number (random, so a guess does not reach anybody)."""
    length = application.extension_length or 4
    used = {
        int(e)
        for e in Binding.objects.filter(x=number, status__in=LIVE)
        .exclude(extension="")
        .values_list("extension", flat=True)
        if e.isdigit()
    }
    top = 10**length - 1
    for _ in range(32):
        candidate = random.randint(1, top)
        if candidate not in used:
            return str(candidate).zfill(length)
    free = [n for n in range(1, top + 1) if n not in used]
    return str(random.choice(free)).zfill(length) if free else ""


def move(binding: Binding, which: str, number: str, *, now: datetime | None = None) -> bool:
    """The platform bound ``which`` ("x" or "y") of a pending binding to ``number``, not to the
    number the console had counted it on (AXYB: its bind names only a city, spec §5.4.1).

    The binding is counted on ``number`` instead, in one transaction with both rows locked; the
    number it leaves, never actually used, is available again at once (no cooldown). A number
    the pool does not know (the pool is out of step with the platform) is recorded on the binding
    without a count. Returns whether anything changed.
    """
    now = now or timezone.now()
    count_field = "binding_count" if which == "x" else "y_binding_count"
    with transaction.atomic():
        locked = Binding.objects.select_for_update().get(pk=binding.pk)
        if getattr(locked, f"{which}_number") == number:
            return False
        old_id = getattr(locked, f"{which}_id")
        new = (
            XNumber.objects.select_for_update()
            .filter(application_id=locked.application_id, number=number)
            .first()
        )
        if old_id is not None:
            XNumber.objects.filter(pk=old_id).update(
                **{count_field: F(count_field) - 1}, updated_at=now
            )
            XNumber.objects.filter(pk=old_id, binding_count=0, y_binding_count=0).exclude(
                state=NumberState.RETIRED
            ).update(state=NumberState.AVAILABLE, cooling_until=None)
        if new is not None:
            role = Role(which, Q(), "", count_field)
            count(new, role, +1, now=now)
        Binding.objects.filter(pk=binding.pk).update(
            **{which: new, f"{which}_number": number}, updated_at=now
        )
    setattr(binding, which, new)
    setattr(binding, f"{which}_number", number)
    return True


# ---------------------------------------------------------------------------------------------
# Usage per application and city (the administrators' pool page)
# ---------------------------------------------------------------------------------------------


def usage() -> list[dict[str, Any]]:
    """Numbers by state and live bindings against capacity, per application and city.

    One aggregate query over the pool (no query per row): retired numbers count in the total but
    carry no capacity. ``resting``: numbers the number-health guard rests now; ``blocked``:
    numbers whose platform status stops new binds (neither is chosen for a new binding).
    """
    now = timezone.now()
    live = ~Q(state=NumberState.RETIRED)
    by_state = {state.value: Count("pk", filter=Q(state=state)) for state in NumberState}
    rows = (
        XNumber.objects.order_by()
        .values(
            "application_id",
            "application__name",
            "application__mode",
            "application__extension_length",
            "city_code",
            "province",
        )
        .annotate(
            total=Count("pk"),
            bindings=Sum("binding_count"),
            on_platform=Sum("platform_binding_count"),
            counted_at=Min("platform_counted_at"),
            counted=Count("platform_counted_at"),
            resting=Count("pk", filter=live & Q(resting_until__gt=now)),
            blocked=Count("pk", filter=live & ~Q(platform_status=PlatformNumberStatus.NORMAL)),
            **by_state,
        )
        .order_by("application__name", "application_id", "city_code", "province")
    )
    result = []
    for row in rows:
        per_x = modes.per_x_capacity(row["application__mode"], row["application__extension_length"])
        capacity = per_x * (row["total"] - row[NumberState.RETIRED])
        result.append(
            {
                "application_id": row["application_id"],
                "application": row["application__name"],
                "mode": row["application__mode"],
                "city_code": row["city_code"],
                "province": row["province"],
                # The city's name in the reader's language ("深圳市" / "Shenzhen"), else the code.
                "city_name": cities.name_of(row["city_code"]),
                "total": row["total"],
                "available": row[NumberState.AVAILABLE],
                "in_use": row[NumberState.IN_USE],
                "cooling": row[NumberState.COOLING],
                "retired": row[NumberState.RETIRED],
                "resting": row["resting"],
                "blocked": row["blocked"],
                "bindings": row["bindings"] or 0,
                "capacity": capacity,
                "percent": round(100 * (row["bindings"] or 0) / capacity, 1) if capacity else None,
                # AXE: the platform's own count (QueryAXEBindingCount), when every number has one.
                "on_platform": row["on_platform"] if row["counted"] == row["total"] else None,
                "counted_at": row["counted_at"],
            }
        )
    return result
