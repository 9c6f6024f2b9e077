"""Releasing numbers: one statement ends bindings and gives their numbers back.

The second rule of :mod:`bindings.pool`: a binding leaves the live statuses and gives its numbers
back in **one** statement (:func:`end_bindings`), guarded by its status, so a count is released
exactly once however many workers, beat jobs or people end the same binding at the same time. A
number left with no binding cools down (``X_COOLDOWN_SECONDS``) before it is chosen again.

On PostgreSQL each release is a single ``UPDATE … RETURNING`` feeding the count update; its ORM
twin (three statements in one transaction, which SQLite serialises) is beside it, and
``bindings/tests/test_twins.py`` plays both. Which one runs is :func:`bindings.pool.is_postgresql`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from bindings import events, pool
from bindings.choices import BindingStatus, NumberState
from bindings.models import Binding, XNumber

# Where a walk through the rows in (key, id) order stands: the key's value and the row's id.
Key = tuple[Any, int]


def cooldown_until(now: datetime) -> datetime | None:
    seconds = settings.X_COOLDOWN_SECONDS
    return now + timedelta(seconds=seconds) if seconds > 0 else None


def end_bindings(
    where: Q,
    *,
    to_status: str,
    from_statuses: Sequence[str] = tuple(pool.LIVE),
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
    ended, _last = _end(
        where,
        to_status=to_status,
        from_statuses=from_statuses,
        set_fields=set_fields,
        now=now,
        limit=limit,
        order_by=[order_by] if order_by else [],
        skip_locked=skip_locked,
        many=many,
        cool_down=cool_down,
    )
    return ended


def end_batch(
    where: Q,
    *,
    to_status: str,
    key: str,
    after: Key | None,
    limit: int,
    from_statuses: Sequence[str] = tuple(pool.LIVE),
    set_fields: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[int, Key | None]:
    """One batch of a walk through ``where`` in ``(key, id)`` order, as :func:`end_bindings`.

    Ends up to ``limit`` bindings whose ``(key, id)`` comes after ``after`` (``None``: from the
    start), skipping rows another transaction holds (``SKIP LOCKED``: never waited for), under the
    lock that serialises many-row releases. Returns how many ended and the ``(key, id)`` of the
    last row picked, where the next batch starts (``None`` when none was picked). ``key`` must be
    a field that is never null among the rows ``where`` matches.

    The next batch starts after this one instead of at the beginning again: the rows a batch
    ended stay in the index that finds the due rows until a vacuum (and their entries can only be
    marked dead once no transaction anywhere on the server is older), so a walk that started over
    each time would read every row it ended before, again, in every later batch. A row skipped
    because a worker held it is left for the next run, as the beat's next minute does anyway.
    """
    return _end(
        where,
        to_status=to_status,
        from_statuses=from_statuses,
        set_fields=set_fields,
        now=now,
        limit=limit,
        order_by=[key, "id"],
        skip_locked=True,
        many=True,
        cool_down=True,
        keyed=True,
        after=after,
    )


def _end(
    where: Q,
    *,
    to_status: str,
    from_statuses: Sequence[str],
    set_fields: dict[str, Any] | None,
    now: datetime | None,
    limit: int | None,
    order_by: list[str],
    skip_locked: bool,
    many: bool,
    cool_down: bool,
    keyed: bool = False,
    after: Key | None = None,
) -> tuple[int, Key | None]:
    """:func:`end_bindings` and :func:`end_batch`: how many ended, and (``keyed``: a batch of a
    walk in ``order_by`` = ``[key, "id"]`` order) the last ``(key, id)`` picked, else ``None``."""
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
            pool.lock_releases()
        picked = Binding.objects.filter(where, status__in=list(from_statuses)).order_by(*order_by)
        if after is not None:
            picked = _after(picked, order_by[0], after)
        if limit is not None:
            picked = picked[:limit]
        key = order_by[0] if keyed else None
        if pool.is_postgresql():
            ended, last = _end_postgresql(
                picked, fields, from_statuses, now, skip_locked, cool_down, key
            )
        else:
            ended, last = _end_generic(picked, fields, from_statuses, now, cool_down, key)
        if ended:
            # The outbox row is written in this transaction (console.webhooks). A batch announces
            # the rows of its own stretch of the walk: those before it ended at the same ``now``.
            if key is not None and last is not None:
                where = where & _between(key, after, last)
            events.announce_ended(where, to_status, fields["ended_at"])
        return ended, last


def _after(picked, key: str, after: Key):
    """``picked`` narrowed to the rows whose ``(key, id)`` comes after ``after``.

    Written as one row comparison, which PostgreSQL turns into the start of its index scan (with
    an OR of two comparisons instead it read and sorted every remaining due row, each batch)."""
    table = connection.ops.quote_name(Binding._meta.db_table)
    column = connection.ops.quote_name(Binding._meta.get_field(key).column)
    value = Binding._meta.get_field(key).get_db_prep_value(after[0], connection)
    return picked.extra(  # noqa: S610 - fixed SQL, values are parameters
        where=[f"({table}.{column}, {table}.id) > (%s, %s)"], params=[value, after[1]]
    )


def _between(key: str, after: Key | None, last: Key) -> Q:
    """The rows whose ``(key, id)`` is after ``after`` and up to ``last``, as a Q."""
    upto = Q(**{f"{key}__lt": last[0]}) | Q(**{key: last[0], "id__lte": last[1]})
    if after is None:
        return upto
    return upto & (Q(**{f"{key}__gt": after[0]}) | Q(**{key: after[0], "id__gt": after[1]}))


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


# Appended to a statement's final SELECT: the last (key, id) the CTE ``picked (id, key)`` took,
# where the next batch of a walk starts (end_batch, end_yb_batch).
_LAST = """, last.key, last.id FROM (SELECT 1) AS one LEFT JOIN (
    SELECT key, id FROM picked ORDER BY key DESC, id DESC LIMIT 1
) AS last ON TRUE"""


def _last_key(row) -> Key | None:
    """The ``(key, id)`` of a row ending in ``_LAST``'s two columns (None: nothing picked)."""
    return (row[1], row[2]) if row[2] is not None else None


def _end_postgresql(
    picked, fields, from_statuses, now, skip_locked, cool_down, key=None
) -> tuple[int, Key | None]:
    if skip_locked:
        picked = picked.select_for_update(skip_locked=True, of=("self",))
    columns = ["id", key] if key else ["id"]
    inner_sql, inner_params = picked.values(*columns).query.sql_with_params()
    sets, set_params = _assignments(fields)
    statuses = ", ".join(["%s"] * len(from_statuses))
    last = _LAST if key else ""
    # Only our own compiled SQL and quoted column names are interpolated; values are parameters.
    # "= ANY(ARRAY(…))" makes PostgreSQL look the picked rows up by primary key instead of
    # hashing the whole table (it cannot estimate a CTE's size).
    sql = f"""
        WITH picked ({"id, key" if key else "id"}) AS ({inner_sql}),
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
        SELECT (SELECT COUNT(*) FROM done){last}
    """  # noqa: S608 - our compiled queryset, values are parameters
    params = [
        *inner_params,
        *set_params,
        *[str(s) for s in from_statuses],
        *_release_params(now, cool_down),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0], _last_key(row) if key else None


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


def _end_generic(picked, fields, from_statuses, now, cool_down, key=None) -> tuple[int, Key | None]:
    if key:
        rows = list(picked.values_list("id", key))
        ids = [row[0] for row in rows]
        last = (rows[-1][1], rows[-1][0]) if rows else None
    else:
        ids, last = list(picked.values_list("id", flat=True)), None
    if not ids:
        return 0, last
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
    return changed, last


def end_yb_parts(where: Q, *, now: datetime, limit: int | None = None) -> int:
    """AXYB: the YB part of these active bindings ended (ybDuration); release their Y numbers."""
    return _end_yb(where, now=now, limit=limit, keyed=False, after=None)[0]


def end_yb_batch(
    where: Q, *, now: datetime, after: Key | None, limit: int
) -> tuple[int, Key | None]:
    """One batch of a walk through ``where`` in ``(yb_expires_at, id)`` order, as
    :func:`end_yb_parts`: the YB parts after ``after`` end, and the last ``(yb_expires_at, id)``
    picked is returned with their number, where the next batch starts (see :func:`end_batch`)."""
    return _end_yb(where, now=now, limit=limit, keyed=True, after=after)


def _end_yb(
    where: Q, *, now: datetime, limit: int | None, keyed: bool, after: Key | None
) -> tuple[int, Key | None]:
    """:func:`end_yb_parts` and :func:`end_yb_batch`."""
    key = "yb_expires_at"
    with transaction.atomic():
        pool.lock_releases()
        picked = Binding.objects.filter(
            where, status=BindingStatus.ACTIVE, yb_ended_at__isnull=True, y__isnull=False
        ).order_by(*([key, "id"] if keyed else [key]))
        if after is not None:
            picked = _after(picked, key, after)
        if limit is not None:
            picked = picked[:limit]
        if pool.is_postgresql():
            inner_sql, inner_params = (
                picked.select_for_update(skip_locked=True, of=("self",))
                .values(*(["id", key] if keyed else ["id"]))
                .query.sql_with_params()
            )
            sql = f"""
                WITH picked ({"id, key" if keyed else "id"}) AS ({inner_sql}),
                done AS (
                    UPDATE bindings_binding b SET yb_ended_at = %s, updated_at = %s
                    WHERE b.id = ANY(ARRAY(SELECT id FROM picked)) AND b.yb_ended_at IS NULL
                    RETURNING b.y_id
                ),
                counts AS (
                    SELECT y_id AS id, 0 AS dx, COUNT(*) AS dy FROM done GROUP BY y_id
                ),
                released AS ({_number_release_sql("counts")} RETURNING 1)
                SELECT (SELECT COUNT(*) FROM done){_LAST if keyed else ""}
            """  # noqa: S608 - our compiled queryset, values are parameters
            with connection.cursor() as cursor:
                cursor.execute(sql, [*inner_params, now, now, *_release_params(now)])
                row = cursor.fetchone()
            return row[0], _last_key(row) if keyed else None
        if keyed:
            rows = list(picked.values_list("id", key))
            ids, last = [row[0] for row in rows], (rows[-1][1], rows[-1][0]) if rows else None
        else:
            ids, last = list(picked.values_list("id", flat=True)), None
        chosen = Binding.objects.filter(id__in=ids, yb_ended_at__isnull=True)
        y_counts = dict(
            chosen.order_by().values_list("y_id").annotate(n=Count("id")).values_list("y_id", "n")
        )
        changed = chosen.update(yb_ended_at=now, updated_at=now)
        _release_generic({}, y_counts, now)
        return changed, last


def start_ending(where: Q, *, end_reason: str, now: datetime, limit: int) -> list[int]:
    """Mark up to ``limit`` active bindings ``ending`` (they still hold their numbers), each with
    a lease for its unbind task (``console.jobs``)."""
    lease_until = now + timedelta(seconds=settings.JOBS_LEASE_SECONDS)
    with transaction.atomic():
        picked = Binding.objects.filter(where, status=BindingStatus.ACTIVE).order_by("expires_at")[
            :limit
        ]
        if pool.is_postgresql():
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
