"""The X-number pool: choosing X (and Y, and AXE extensions) and keeping the live counts right.

Two rules keep the counts exact under concurrency:

* a binding is added to a number only while that number's row is locked
  (``SELECT … FOR UPDATE SKIP LOCKED``), and the count goes up in the same transaction;
* a binding leaves the live statuses and gives its numbers back in **one** statement
  (:func:`end_bindings`), guarded by its status, so a count is released exactly once however many
  workers, beat jobs or people end the same binding at the same time.

Rules about one real number across several X (AX and AXYB: an A holds at most 5 X) are serialised
with a PostgreSQL advisory lock on that number (:func:`lock_party`). SQLite, used by the embedded
demo, serialises every write transaction anyway, so the locks are no-ops there.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.utils import timezone

from bindings import cities
from bindings.choices import (
    LIVE_BINDING_STATUSES,
    BindingStatus,
    NumberState,
    PlatformNumberStatus,
)
from bindings.cities import province_of
from bindings.models import Binding, XNumber
from console.choices import Mode

# Spec §4.
AXB_PAIRS_PER_X = 5000
AX_X_PER_A = 5
AXYB_RELATIONS_PER_Y = 1000

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


def _lock_releases() -> None:
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


def axe_capacity(application) -> int:
    """A numbers per X in AXE: the extension range, capped by the recommended maximum."""
    length = application.extension_length or 4
    return max(1, min(10**length - 1, settings.BINDINGS_AXE_MAX_PER_X))


def role_for(mode: str, application, *, as_y: bool = False) -> Role:
    """The capacity rule of spec §4 for a number used in ``mode`` (as X, or as Y in AXYB)."""
    if mode in (Mode.AXB, Mode.AXE):
        limit = AXB_PAIRS_PER_X if mode == Mode.AXB else axe_capacity(application)
        return Role(
            "x", Q(binding_count__lt=limit), f"n.binding_count < {int(limit)}", "binding_count"
        )
    if mode == Mode.AXYB and as_y:
        # A Y carries up to 1000 relations and is never anybody's X at the same time.
        return Role(
            "y",
            Q(binding_count=0, y_binding_count__lt=AXYB_RELATIONS_PER_Y),
            f"n.binding_count = 0 AND n.y_binding_count < {AXYB_RELATIONS_PER_Y}",
            "y_binding_count",
            prefer=Q(y_binding_count__gt=0),
            prefer_sql="n.y_binding_count > 0",
        )
    # AX and the X of AXYB: one A per X at a time (and an AXYB X is nobody's Y).
    return Role(
        "x",
        Q(binding_count=0, y_binding_count=0),
        "n.binding_count = 0 AND n.y_binding_count = 0",
        "binding_count",
    )


def usable(application, now: datetime) -> QuerySet[XNumber]:
    """Numbers that may take a new binding: status 5, not retired, not cooling down.

    The first two conditions are written exactly as the partial indexes' condition so that
    PostgreSQL can use them.
    """
    return (
        XNumber.objects.filter(application=application, platform_status=PlatformNumberStatus.NORMAL)
        .exclude(state__in=[NumberState.RETIRED])
        .filter(Q(cooling_until__isnull=True) | Q(cooling_until__lte=now))
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
    with connection.cursor() as cursor:
        for _attempt in range(20):
            sql = _SELECT_SQL.format(
                capacity=role.capacity_sql,
                tier=tier_sql,
                passed=" AND NOT (n.id = ANY(%s))" if passed else "",
                avoid=_AVOID_SQL.format(parties=parties_sql) if parties else "",
                order=role.count_field,
                lock=lock,
            )
            params: list[Any] = [application.pk, now, *tier_params]
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
# Releasing: one statement ends bindings and gives their numbers back
# ---------------------------------------------------------------------------------------------


def cooldown_until(now: datetime) -> datetime | None:
    seconds = settings.X_COOLDOWN_SECONDS
    return now + timedelta(seconds=seconds) if seconds > 0 else None


def end_bindings(
    where: Q,
    *,
    to_status: str,
    from_statuses: Sequence[str] = tuple(LIVE),
    set_fields: dict[str, Any] | None = None,
    now: datetime | None = None,
    limit: int | None = None,
    order_by: str | None = None,
    skip_locked: bool = False,
    many: bool = False,
    cool_down: bool = True,
) -> int:
    """Move the bindings matching ``where`` (and in ``from_statuses``) to ``to_status``.

    Their X (and Y, unless its YB part ended already) numbers lose one live binding each; a number
    left with none starts cooling down, unless ``cool_down`` is False (a refused bind never held
    its number: nobody dials it yet, so it is available at once). Returns how many bindings
    changed. On PostgreSQL this is a
    single statement (an UPDATE … RETURNING feeding the count update), so it is exact under any
    concurrency; elsewhere it runs as three statements in one (serialised) transaction.
    """
    now = now or timezone.now()
    fields = {
        "status": to_status,
        "ended_at": now,
        "updated_at": now,
        "lease_until": None,  # an ended binding waits on no worker
        **(set_fields or {}),
    }
    with transaction.atomic():
        if many:
            _lock_releases()
        picked = Binding.objects.filter(where, status__in=list(from_statuses)).order_by(
            *([order_by] if order_by else [])
        )
        if limit is not None:
            picked = picked[:limit]
        if is_postgresql():
            return _end_postgresql(picked, fields, from_statuses, now, skip_locked, cool_down)
        return _end_generic(picked, fields, from_statuses, now, cool_down)


def _assignments(fields: dict[str, Any]) -> tuple[str, list[Any]]:
    parts, params = [], []
    for name, value in fields.items():
        column = Binding._meta.get_field(name).column
        parts.append(f"{connection.ops.quote_name(column)} = %s")
        params.append(Binding._meta.get_field(name).get_db_prep_save(value, connection))
    return ", ".join(parts), params


def _number_release_sql(counts_cte: str) -> str:
    """The UPDATE of xnumber rows from a CTE of (id, dx, dy) decrements."""
    total = "(n.binding_count - c.dx + n.y_binding_count - c.dy)"
    return f"""
        UPDATE bindings_xnumber n SET
            binding_count = n.binding_count - c.dx,
            y_binding_count = n.y_binding_count - c.dy,
            state = CASE WHEN n.state = %s THEN n.state
                         WHEN {total} = 0 THEN %s ELSE %s END,
            cooling_until = CASE WHEN n.state <> %s AND {total} = 0 THEN %s
                                 ELSE n.cooling_until END,
            updated_at = %s
        FROM {counts_cte} c WHERE n.id = c.id
    """  # noqa: S608 - fixed SQL, values are parameters


def _release_params(now: datetime, cool_down: bool = True) -> list[Any]:
    until = cooldown_until(now) if cool_down else None
    idle = NumberState.COOLING if until else NumberState.AVAILABLE
    return [NumberState.RETIRED, idle, NumberState.IN_USE, NumberState.RETIRED, until, now]


def _end_postgresql(picked, fields, from_statuses, now, skip_locked, cool_down) -> int:
    if skip_locked:
        picked = picked.select_for_update(skip_locked=True, of=("self",))
    inner_sql, inner_params = picked.values("id").query.sql_with_params()
    sets, set_params = _assignments(fields)
    statuses = ", ".join(["%s"] * len(from_statuses))
    # Only our own compiled SQL and quoted column names are interpolated; values are parameters.
    # "= ANY(ARRAY(…))" makes PostgreSQL look the picked rows up by primary key instead of
    # hashing the whole table (it cannot estimate a CTE's size).
    sql = f"""
        WITH picked AS ({inner_sql}),
        done AS (
            UPDATE bindings_binding b SET {sets}
            WHERE b.id = ANY(ARRAY(SELECT id FROM picked)) AND b.status IN ({statuses})
            RETURNING b.x_id, CASE WHEN b.yb_ended_at IS NULL THEN b.y_id END AS y_id
        ),
        counts AS (
            SELECT id, SUM(dx) AS dx, SUM(dy) AS dy FROM (
                SELECT x_id AS id, 1 AS dx, 0 AS dy FROM done WHERE x_id IS NOT NULL
                UNION ALL
                SELECT y_id, 0, 1 FROM done WHERE y_id IS NOT NULL
            ) AS each_number GROUP BY id
        ),
        released AS ({_number_release_sql("counts")} RETURNING 1)
        SELECT (SELECT COUNT(*) FROM done)
    """  # noqa: S608 - our compiled queryset, values are parameters
    params = [
        *inner_params,
        *set_params,
        *[str(s) for s in from_statuses],
        *_release_params(now, cool_down),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _release_generic(
    x_counts: dict[int, int], y_counts: dict[int, int], now: datetime, cool_down: bool = True
) -> None:
    """Give numbers back one number at a time (never one binding at a time)."""
    until = cooldown_until(now) if cool_down else None
    idle = NumberState.COOLING if until else NumberState.AVAILABLE
    for number_id in set(x_counts) | set(y_counts):
        dx, dy = x_counts.get(number_id, 0), y_counts.get(number_id, 0)
        XNumber.objects.filter(pk=number_id).update(
            binding_count=F("binding_count") - dx,
            y_binding_count=F("y_binding_count") - dy,
            updated_at=now,
        )
    touched = list(set(x_counts) | set(y_counts))
    XNumber.objects.filter(pk__in=touched, binding_count=0, y_binding_count=0).exclude(
        state=NumberState.RETIRED
    ).update(state=idle, cooling_until=until)
    XNumber.objects.filter(pk__in=touched).exclude(
        Q(binding_count=0, y_binding_count=0) | Q(state=NumberState.RETIRED)
    ).update(state=NumberState.IN_USE)


def _end_generic(picked, fields, from_statuses, now, cool_down) -> int:
    ids = list(picked.values_list("id", flat=True))
    if not ids:
        return 0
    chosen = Binding.objects.filter(id__in=ids, status__in=list(from_statuses))
    x_counts = dict(
        chosen.filter(x__isnull=False)
        .order_by()
        .values_list("x_id")
        .annotate(n=Count("id"))
        .values_list("x_id", "n")
    )
    y_counts = dict(
        chosen.filter(y__isnull=False, yb_ended_at__isnull=True)
        .order_by()
        .values_list("y_id")
        .annotate(n=Count("id"))
        .values_list("y_id", "n")
    )
    changed = chosen.update(**fields)
    _release_generic(x_counts, y_counts, now, cool_down)
    return changed


def end_yb_parts(where: Q, *, now: datetime, limit: int | None = None) -> int:
    """AXYB: the YB part of these active bindings ended (ybDuration); release their Y numbers."""
    with transaction.atomic():
        _lock_releases()
        picked = Binding.objects.filter(
            where, status=BindingStatus.ACTIVE, yb_ended_at__isnull=True, y__isnull=False
        ).order_by("yb_expires_at")
        if limit is not None:
            picked = picked[:limit]
        if is_postgresql():
            inner_sql, inner_params = (
                picked.select_for_update(skip_locked=True, of=("self",))
                .values("id")
                .query.sql_with_params()
            )
            sql = f"""
                WITH picked AS ({inner_sql}),
                done AS (
                    UPDATE bindings_binding b SET yb_ended_at = %s, updated_at = %s
                    WHERE b.id = ANY(ARRAY(SELECT id FROM picked)) AND b.yb_ended_at IS NULL
                    RETURNING b.y_id
                ),
                counts AS (
                    SELECT y_id AS id, 0 AS dx, COUNT(*) AS dy FROM done GROUP BY y_id
                ),
                released AS ({_number_release_sql("counts")} RETURNING 1)
                SELECT (SELECT COUNT(*) FROM done)
            """  # noqa: S608 - our compiled queryset, values are parameters
            with connection.cursor() as cursor:
                cursor.execute(sql, [*inner_params, now, now, *_release_params(now)])
                return cursor.fetchone()[0]
        ids = list(picked.values_list("id", flat=True))
        chosen = Binding.objects.filter(id__in=ids, yb_ended_at__isnull=True)
        y_counts = dict(
            chosen.order_by().values_list("y_id").annotate(n=Count("id")).values_list("y_id", "n")
        )
        changed = chosen.update(yb_ended_at=now, updated_at=now)
        _release_generic({}, y_counts, now)
        return changed


def start_ending(where: Q, *, end_reason: str, now: datetime, limit: int) -> list[int]:
    """Mark up to ``limit`` active bindings ``ending`` (they still hold their numbers), each with
    a lease for its unbind task (``console.jobs``)."""
    lease_until = now + timedelta(seconds=settings.JOBS_LEASE_SECONDS)
    with transaction.atomic():
        picked = Binding.objects.filter(where, status=BindingStatus.ACTIVE).order_by("expires_at")[
            :limit
        ]
        if is_postgresql():
            inner_sql, inner_params = (
                picked.select_for_update(skip_locked=True, of=("self",))
                .values("id")
                .query.sql_with_params()
            )
            sql = f"""
                WITH picked AS ({inner_sql})
                UPDATE bindings_binding b
                SET status = %s, end_reason = %s, updated_at = %s, lease_until = %s
                WHERE b.id = ANY(ARRAY(SELECT id FROM picked)) AND b.status = %s
                RETURNING b.id
            """  # noqa: S608 - our compiled queryset, values are parameters
            with connection.cursor() as cursor:
                cursor.execute(
                    sql,
                    [
                        *inner_params,
                        BindingStatus.ENDING,
                        end_reason,
                        now,
                        lease_until,
                        BindingStatus.ACTIVE,
                    ],
                )
                return [row[0] for row in cursor.fetchall()]
        ids = list(picked.values_list("id", flat=True))
        Binding.objects.filter(id__in=ids, status=BindingStatus.ACTIVE).update(
            status=BindingStatus.ENDING,
            end_reason=end_reason,
            updated_at=now,
            lease_until=lease_until,
        )
        return ids


def finish_cooling(now: datetime) -> int:
    """Numbers whose cooldown is over are available again (display state; choice reads the time)."""
    return XNumber.objects.filter(state=NumberState.COOLING, cooling_until__lte=now).update(
        state=NumberState.AVAILABLE, cooling_until=None, updated_at=now
    )


# ---------------------------------------------------------------------------------------------
# Usage per application and city (the administrators' pool page)
# ---------------------------------------------------------------------------------------------


def per_x_capacity(mode: str, extension_length: int | None) -> int:
    """Live bindings one X can carry in ``mode`` (spec §4); an AXYB number counted as an X."""
    if mode == Mode.AXB:
        return AXB_PAIRS_PER_X
    if mode == Mode.AXE:
        return max(1, min(10 ** (extension_length or 4) - 1, settings.BINDINGS_AXE_MAX_PER_X))
    return 1


def usage() -> list[dict[str, Any]]:
    """Numbers by state and live bindings against capacity, per application and city.

    One aggregate query over the pool (no query per row): retired numbers count in the total but
    carry no capacity.
    """
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
            **by_state,
        )
        .order_by("application__name", "application_id", "city_code", "province")
    )
    result = []
    for row in rows:
        per_x = per_x_capacity(row["application__mode"], row["application__extension_length"])
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
                "bindings": row["bindings"] or 0,
                "capacity": capacity,
                "percent": round(100 * (row["bindings"] or 0) / capacity, 1) if capacity else None,
                # AXE: the platform's own count (QueryAXEBindingCount), when every number has one.
                "on_platform": row["on_platform"] if row["counted"] == row["total"] else None,
                "counted_at": row["counted_at"],
            }
        )
    return result
