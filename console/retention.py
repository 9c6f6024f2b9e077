"""Personal data: how long it is kept (retention policies), and erasure of one person's number.

The console holds people's real phone numbers in several places, each owned by one app. Each app
registers its places here (:func:`register`, from its ``AppConfig.ready()``), as :class:`Part`s
of the four kinds a :class:`~console.models.RetentionPolicy` sets a lifetime for:

* ``call_data``: call events, CDRs and SMS records (billing);
* ``push_bodies``: the raw bodies of processed pushes (the inbox, here in the kernel);
* ``recordings``: stored recording files (recordings);
* ``ended_bindings``: the real numbers of ended bindings (bindings).

A part says which of an application's rows are past a cutoff and what to do with a batch of them:
delete the rows (call events), or keep the rows and **pseudonymise** their numbers
(:func:`pseudonym`: a keyed hash, the same for the same number, so counts per caller, statements,
settlement and health figures still add up) and blank their texts. :func:`run` (beat, hourly)
works through every policy in batches of ``RETENTION_BATCH`` rows, each batch its own short
transaction, and stops after ``RETENTION_MAX_BATCHES`` per part so a run never holds a list for
long; the next run carries on. :func:`preview` counts what the next run would remove, for the policy
form's confirmation.

Erasure (PIPL Art. 47) asks every part for the rows that hold one number (:func:`find`, exact
indexed lookups on the number in the forms it is stored in) and erases them whatever their age
(:func:`erase`), with one audit row holding the report. docs/privacy.md lists every place.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from console import audit, partitions
from console.choices import AuditAction, DeliveryState
from console.models import Application, Delivery, RetentionPolicy
from console.numbers import InvalidNumber, mask, normalize

logger = logging.getLogger(__name__)

# A pseudonym: "~" and 20 hex digits of HMAC-SHA256 (80 bits): never a number, fits every number
# column (32 characters), and the same number always gives the same pseudonym.
PSEUDONYM_PREFIX = "~"
_PSEUDONYM_HEX = 20

KINDS: dict[str, Promise] = {
    "call_data": _("call events, CDRs and SMS texts"),
    "push_bodies": _("raw bodies of processed pushes"),
    "recordings": _("stored recordings"),
    "ended_bindings": _("real numbers of ended bindings"),
}


@models.BinaryField.register_lookup
class ContainsBytes(models.Lookup):
    """``body__contains_bytes=b"..."``: the bytes occur in a binary column (a full read)."""

    lookup_name = "contains_bytes"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"position({rhs} in {lhs}) > 0", [*rhs_params, *lhs_params]
        return f"instr({lhs}, {rhs}) > 0", [*lhs_params, *rhs_params]


def pseudonym(value: str) -> str:
    """The keyed hash that stands for a real number once its retention ran out ("" stays "")."""
    if not value or value.startswith(PSEUDONYM_PREFIX):
        return value
    key = settings.PSEUDONYM_KEY.encode()
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:_PSEUDONYM_HEX]


def is_pseudonym(value: str) -> bool:
    return bool(value) and value.startswith(PSEUDONYM_PREFIX)


def holding_any(fields: Iterable[str], forms: list[str]) -> Q:
    """Rows where one of ``fields`` is one of the ``forms`` of a number (exact, indexed)."""
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__in": forms})
    return condition


def not_pseudonymised(*fields: str) -> Q:
    """Rows where some of ``fields`` still holds a real number (non-empty, no pseudonym)."""
    condition = Q()
    for name in fields:
        condition |= ~Q(**{f"{name}__startswith": PSEUDONYM_PREFIX}) & ~Q(**{name: ""})
    return condition


def pseudonymise_rows(
    model: type[models.Model], ids: Iterable[int], fields: tuple[str, ...], blank=()
) -> int:
    """Replace ``fields`` of the rows ``ids`` by their pseudonyms and empty the ``blank`` text
    fields, set-based: one read of the distinct numbers, then per field one UPDATE joined to the
    (number, pseudonym) pairs. (Django's ``bulk_update`` wrote a CASE per row: 0.45 ms of Python
    a row, ``bench/purge.py``.)"""
    ids = list(ids)
    if not ids:
        return 0
    manager = model._base_manager
    present = manager.filter(pk__in=ids).values_list("pk", *fields)
    rows = list(present)
    numbers = {value for row in rows for value in row[1:] if value and not is_pseudonym(value)}
    pairs = [(number, pseudonym(number)) for number in sorted(numbers)]
    if pairs:
        quote = connection.ops.quote_name
        table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
        found = [row[0] for row in rows]
        values = ", ".join(["(%s, %s)"] * len(pairs))
        flat = [item for pair in pairs for item in pair]
        with connection.cursor() as cursor:
            for name in fields:
                column = quote(model._meta.get_field(name).column)
                if connection.vendor == "postgresql":
                    cursor.execute(
                        f"UPDATE {table} AS t SET {column} = v.p "  # noqa: S608 - our names
                        f"FROM (VALUES {values}) AS v(n, p) "
                        f"WHERE t.{key} = ANY(%s) AND t.{column} = v.n",
                        [*flat, found],
                    )
                else:  # SQLite (the embedded configuration): the same join as a subquery
                    marks = ", ".join(["%s"] * len(found))
                    cursor.execute(
                        f"WITH v(n, p) AS (VALUES {values}) "  # noqa: S608 - our names
                        f"UPDATE {table} SET {column} = "
                        f"(SELECT p FROM v WHERE v.n = {table}.{column}) "
                        f"WHERE {key} IN ({marks}) AND {column} IN (SELECT n FROM v)",
                        [*flat, *found],
                    )
    if blank:
        manager.filter(pk__in=ids).update(**dict.fromkeys(blank, ""))
    return len(rows)


@dataclass(frozen=True)
class Part:
    """One place where personal data lives.

    ``due(application, cutoff)``: the application's rows past ``cutoff`` that still hold personal
    data; ``holding(variants)``: the rows that hold one number (``variants``: the forms it may be
    stored in); ``erase(ids)``: delete or pseudonymise those rows, returning how many.
    """

    kind: str
    name: str
    label: Promise
    model: type[models.Model]
    due: Callable[[Application, datetime], models.QuerySet]
    holding: Callable[[list[str]], models.QuerySet]
    erase: Callable[[list[int]], int]
    # Rows that must be dealt with first (a live binding: end it), counted and never erased.
    blocks_erasure: bool = False
    # Files that belong to the rows ``ids`` (a recording's audio), for an access request: each
    # (name in the file, an iterator of its bytes).
    files: Callable[[list[int]], Iterable[tuple[str, Iterable[bytes]]]] | None = None


class ErasureBlocked(Exception):
    """Some rows holding the number cannot be erased yet (live bindings: end them first)."""

    def __init__(self, blocking: dict[str, int]) -> None:
        super().__init__(", ".join(f"{name}: {count}" for name, count in blocking.items()))
        self.blocking = blocking


_PARTS: list[Part] = []


def register(*parts: Part) -> None:
    """Called from the owning app's ``AppConfig.ready()``."""
    for part in parts:
        if part.kind not in KINDS:
            raise ValueError(f"unknown kind of personal data: {part.kind}")
        if any(existing.name == part.name for existing in _PARTS):
            continue  # ready() ran twice (tests that reload the app registry)
        _PARTS.append(part)


def parts() -> list[Part]:
    return list(_PARTS)


# ---------------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------------


def cutoffs(policy: RetentionPolicy, now: datetime) -> dict[str, datetime]:
    """The cutoff of each kind the policy limits (kinds kept forever are left out)."""
    found = {}
    for kind in KINDS:
        days = getattr(policy, f"{kind}_days")
        if days is not None:
            found[kind] = now - timedelta(days=days)
    return found


def preview(policy: RetentionPolicy, *, now: datetime | None = None) -> list[tuple[Part, int]]:
    """What the next run would remove under ``policy`` (saved or not): each part and its count."""
    now = now or timezone.now()
    limits = cutoffs(policy, now)
    return [
        (part, part.due(policy.application, limits[part.kind]).count())
        for part in _PARTS
        if part.kind in limits and not part.blocks_erasure
    ]


def history_months(*, instead: RetentionPolicy | None = None) -> dict[int, int | None]:
    """Each application's ``call_history_months`` (None: keeps every month), installation-wide
    (never scoped to a user's teams); ``instead``: a policy, saved or not, that stands for its
    application's (the policy form's preview)."""
    months: dict[int, int | None] = dict.fromkeys(
        Application._base_manager.values_list("pk", flat=True)
    )
    months.update(
        RetentionPolicy._base_manager.values_list("application_id", "call_history_months")
    )
    if instead is not None:
        months[instead.application_id] = instead.call_history_months
    return months


def history_cutoff(
    *, now: datetime | None = None, instead: RetentionPolicy | None = None
) -> date | None:
    """The first month of call history the history retention keeps (``billing.history`` drops
    the months before it), or None while it keeps them all.

    The months hold every application's calls, so a month goes only when every application's
    policy lets it: the longest ``call_history_months`` counts, and one application without it
    keeps everything.
    """
    months = history_months(instead=instead)
    if not months or None in months.values():
        return None
    longest = max(value for value in months.values() if value is not None)
    return partitions.add_months(partitions.month_start(now or timezone.now()), -longest)


def run(*, now: datetime | None = None) -> dict[str, int]:
    """Beat: apply every application's policy, batch by batch; the count per part."""
    now = now or timezone.now()
    done: dict[str, int] = {}
    batch = settings.RETENTION_BATCH
    for policy in RetentionPolicy.objects.select_related("application"):
        for kind, cutoff in cutoffs(policy, now).items():
            for part in (p for p in _PARTS if p.kind == kind and not p.blocks_erasure):
                count, last = 0, 0
                for _round in range(settings.RETENTION_MAX_BATCHES):
                    with transaction.atomic():
                        # From where the last batch ended: rows already done are not read again
                        # (a run stays linear in the rows it purges).
                        ids = list(
                            part.due(policy.application, cutoff)
                            .filter(pk__gt=last)
                            .order_by("pk")
                            .values_list("pk", flat=True)[:batch]
                        )
                        if not ids:
                            break
                        last = ids[-1]
                        count += part.erase(ids)
                    if len(ids) < batch:
                        break
                if count:
                    done[part.name] = done.get(part.name, 0) + count
                    audit.record(
                        AuditAction.DELETE,
                        policy.application,
                        details={
                            "what": part.name,
                            "reason": "retention",
                            "kind": kind,
                            "older_than": cutoff.isoformat(),
                            "rows": count,
                        },
                    )
                    logger.info(
                        "retention: %s of %s: %d row(s) before %s",
                        part.name,
                        policy.application,
                        count,
                        cutoff,
                    )
    return done


# ---------------------------------------------------------------------------------------------
# Erasure of one number
# ---------------------------------------------------------------------------------------------


def variants(number: str) -> list[str]:
    """The forms one number may be stored in: E.164 as the console writes it, and the national
    forms a push may carry (``13812345678``, ``8613812345678``)."""
    e164 = normalize(number)
    forms = [e164]
    if e164.startswith("+86"):
        national = e164[3:]
        forms += [national, "86" + national, "0" + national if not national.startswith("1") else ""]
    return [form for form in dict.fromkeys(forms) if form]


def find(number: str) -> list[tuple[Part, int]]:
    """Every part and how many of its rows hold ``number`` (raises InvalidNumber)."""
    forms = variants(number)
    return [(part, part.holding(forms).count()) for part in _PARTS]


def erase(number: str, *, user=None, request=None) -> dict[str, int]:
    """Erase ``number`` everywhere, whatever the age of the rows; one audit row is the report."""
    forms = variants(number)
    blocking = {
        part.name: count
        for part in _PARTS
        if part.blocks_erasure and (count := part.holding(forms).count())
    }
    if blocking:
        raise ErasureBlocked(blocking)
    # Every part's rows are found before any is erased: one part may find its rows through
    # another's numbers (recordings through their CDRs).
    erasable = [p for p in _PARTS if not p.blocks_erasure]
    found = {
        p.name: list(p.holding(forms).order_by("pk").values_list("pk", flat=True)) for p in erasable
    }
    report = {part.name: 0 for part in erasable}
    batch = settings.RETENTION_BATCH
    for part in erasable:
        ids = found[part.name]
        for start in range(0, len(ids), batch):
            with transaction.atomic():
                report[part.name] = report.get(part.name, 0) + part.erase(
                    ids[start : start + batch]
                )
    audit.record(
        AuditAction.DELETE,
        None,
        user=user,
        request=request,
        details={
            "what": "personal data of one number",
            "reason": "erasure request",
            "number": mask(forms[0]),
            "pseudonym": pseudonym(forms[0]),
            "erased": report,
        },
    )
    return report


# ---------------------------------------------------------------------------------------------
# The kernel's own part: raw push bodies
# ---------------------------------------------------------------------------------------------


def _bodies_due(application: Application, cutoff: datetime) -> models.QuerySet:
    # Processed pushes only: a failed or held one is kept whole until it is fixed or released.
    return Delivery.objects.filter(
        application=application,
        state=DeliveryState.PROCESSED,
        processed_at__lt=cutoff,
        size__gt=0,
    )


def _bodies_holding(forms: list[str]) -> models.QuerySet:
    # The body is bytes of JSON; there is no index on it, so an erasure reads them all once.
    condition = Q()
    for form in forms:
        condition |= Q(body__contains_bytes=form.encode())
    return Delivery.objects.filter(condition)


def _erase_bodies(ids: list[int]) -> int:
    # The digest stays (a resent push is still known as a duplicate); the body and its size go.
    return Delivery.objects.filter(pk__in=ids).update(body=b"", size=0)


def register_kernel_parts() -> None:
    """Called from ``ConsoleConfig.ready()``."""
    register(
        Part(
            "push_bodies",
            "push_bodies",
            _("raw push bodies"),
            Delivery,
            _bodies_due,
            _bodies_holding,
            _erase_bodies,
        )
    )


__all__ = [
    "KINDS",
    "ErasureBlocked",
    "InvalidNumber",
    "Part",
    "erase",
    "find",
    "holding_any",
    "is_pseudonym",
    "not_pseudonymised",
    "parts",
    "preview",
    "pseudonym",
    "pseudonymise_rows",
    "register",
    "run",
]
