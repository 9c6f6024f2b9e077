"""Safeguards a binding passes before the platform is called (issue 16), and their upkeep.

* Tone files: a binding names only approved files of its application's catalog, each of the
  purpose of its field; a tone left empty takes the application's approved default.
* The blacklist: a blacklisted A or B is refused. Every change leaves an audit row.
* The A-number register (报备): an A that is not registered is refused or warned about, by the
  application's policy.

``create_binding`` calls :func:`check` on every binding, from the page, the bulk upload and any
other caller alike, so a rule never exists only in a form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from bindings import modes, uploads
from bindings.choices import RegistrationPolicy, RegistrationState, ReviewState, VoicePurpose
from bindings.models import ANumberRegistration, ApplicationPolicy, BlacklistEntry, VoiceFile
from bindings.services.base import BindingRefused
from console import audit, teams
from console.choices import AuditAction
from console.models import Application
from console.numbers import InvalidNumber, mask, normalize
from console.sql import prepared_cursor

# The purpose of the files each tone field of a binding takes.
TONE_PURPOSES: dict[str, str] = {
    "record_hint_tone": VoicePurpose.RECORD_NOTICE,
    "last_min_voice": VoicePurpose.LAST_MINUTE,
    "caller_hint_tone": VoicePurpose.WAITING,
    "callee_hint_tone": VoicePurpose.WAITING,
    "callback_tone": VoicePurpose.HINT,
}


@dataclass
class Checked:
    """What :func:`check` found: warnings for the person binding (the registration policy)."""

    warnings: list[str] = field(default_factory=list)


def approved_files(application: Application | int, purpose: str) -> QuerySet[VoiceFile]:
    """The approved files of one purpose, the ones a form offers."""
    return VoiceFile.objects.filter(
        application=application, purpose=purpose, review_state=ReviewState.APPROVED
    ).order_by("name")


def _default_applies(name: str, values: Mapping[str, Any]) -> bool:
    """Whether an empty tone field takes the application's default (only where it would be
    valid: a recording notice when recording, a last-minute tone with a call limit, a callback
    tone instead of a callback number)."""
    if name == "record_hint_tone":
        return bool(values.get("record_flag"))
    if name == "last_min_voice":
        return bool(values.get("max_duration"))
    if name == "callback_tone":
        return not values.get("callback_num")
    return True


def _apply_tones(fields: list[str], values: dict[str, Any], files: list[VoiceFile]) -> None:
    """Refuse a tone that is not an approved file of its purpose; fill empty ones with the
    application's approved defaults. ``files``: the files named and the application's defaults
    (read with the binding's other safeguards)."""
    by_name = {f.name: f for f in files}
    defaults = {
        f.purpose: f.name for f in files if f.is_default and f.review_state == ReviewState.APPROVED
    }
    for name in fields:
        purpose = TONE_PURPOSES[name]
        given = values.get(name)
        if not given:
            if purpose in defaults and _default_applies(name, values):
                values[name] = defaults[purpose]
            continue
        _refuse_unless_approved(name, given, by_name.get(given))


def _tone_files(application: Application | int, names) -> QuerySet[VoiceFile]:
    """The files named, and the application's defaults."""
    return VoiceFile.objects.filter(application=application).filter(
        Q(name__in=names) | Q(is_default=True)
    )


@dataclass(frozen=True)
class _Facts:
    """What :func:`check` reads for one binding."""

    blacklisted: tuple[str, str] | None  # (number, reason) of an entry in force for A or B
    registration_policy: str
    registration_state: str | None  # of A; None when the policy is off (not read)
    files: list[VoiceFile]  # the tone files named and the defaults; empty without tone fields


def _facts_by_orm(
    application: Application, numbers: list[str], a_number: str, names: list[str], tones: bool
) -> _Facts:
    """The facts through the ORM: on SQLite, and under a team's scope (its managers decide)."""
    entry = blacklisted(application, numbers).first() if numbers else None
    policy = ApplicationPolicy.for_application(application).registration_policy
    state = None
    if policy != RegistrationPolicy.OFF:
        state = (
            ANumberRegistration.objects.filter(application=application, number=a_number)
            .values_list("state", flat=True)
            .first()
        )
    return _Facts(
        (entry.number, entry.reason) if entry is not None else None,
        policy,
        state,
        list(_tone_files(application, names)) if tones else [],
    )


# check() runs for every binding made, by a person, a bulk file or the API alike. On PostgreSQL,
# outside a team's scope, its reads are one prepared statement: three compiled queries (and a
# fourth with a registration policy) cost a round trip each, ~0.5 ms of CPU a binding (issue 19).
# The conditions (and the blacklist's order, the model's: newest first) are those of
# blacklisted(), ApplicationPolicy.for_application(), the registration's lookup and
# _tone_files(); the tests run every rule both ways.
_FACTS_SQL = f"""
    SELECT
      (SELECT json_build_array(e.number, e.reason) FROM {BlacklistEntry._meta.db_table} e
        WHERE (e.application_id = %s OR e.application_id IS NULL) AND e.number = ANY(%s)
          AND (e.expires_at IS NULL OR e.expires_at > %s)
        ORDER BY e.created_at DESC, e.id DESC LIMIT 1),
      (SELECT p.registration_policy FROM {ApplicationPolicy._meta.db_table} p
        WHERE p.application_id = %s),
      (SELECT r.state FROM {ANumberRegistration._meta.db_table} r
        WHERE r.application_id = %s AND r.number = %s ORDER BY r.id LIMIT 1),
      (SELECT json_agg(json_build_array(v.name, v.purpose, v.review_state, v.is_default))
        FROM {VoiceFile._meta.db_table} v
        WHERE %s AND v.application_id = %s AND (v.name = ANY(%s) OR v.is_default))
"""  # noqa: S608 - our own tables; every value is a parameter


def _facts_at_once(
    application: Application, numbers: list[str], a_number: str, names: list[str], tones: bool
) -> _Facts:
    pk = application.pk
    with prepared_cursor() as cursor:
        cursor.execute(
            _FACTS_SQL, [pk, numbers, timezone.now(), pk, pk, a_number, tones, pk, names]
        )
        entry, policy, state, files = cursor.fetchone()
    policy = policy or _DEFAULT_REGISTRATION_POLICY  # no row: the defaults
    return _Facts(
        tuple(entry) if entry is not None else None,
        policy,
        state if policy != RegistrationPolicy.OFF else None,
        [
            VoiceFile(name=name, purpose=purpose, review_state=review, is_default=default)
            for name, purpose, review, default in files or ()
        ],
    )


_DEFAULT_REGISTRATION_POLICY = ApplicationPolicy._meta.get_field("registration_policy").default


def _refuse_unless_approved(name: str, given: str, found: VoiceFile | None) -> None:
    purpose = TONE_PURPOSES[name]
    if (
        found is not None
        and found.review_state == ReviewState.APPROVED
        and found.purpose == purpose
    ):
        return
    if found is None:
        why = _("it is not in the application's tone-file catalog")
    elif found.review_state != ReviewState.APPROVED:
        why = _("its review is %(state)s") % {"state": found.get_review_state_display()}
    else:
        why = _("it is a %(purpose)s file") % {"purpose": found.get_purpose_display()}
    raise BindingRefused(
        _("The tone file “%(name)s” cannot be used as a %(purpose)s tone: %(why)s.")
        % {"name": given, "purpose": VoicePurpose(purpose).label, "why": why},
        rule="voice_file",
        field=name,
    )


def check_tones(application: Application | int, changes: Mapping[str, Any]) -> None:
    """Refuse a changed tone (of an active binding) that is not an approved file of its purpose."""
    given = {k: v for k, v in changes.items() if k in TONE_PURPOSES and v}
    if not given:
        return
    by_name = {
        f.name: f
        for f in VoiceFile.objects.filter(application=application, name__in=given.values())
    }
    for name, value in given.items():
        _refuse_unless_approved(name, value, by_name.get(value))


def blacklisted(
    application: Application | int, numbers: Iterable[str], *, now: datetime | None = None
) -> QuerySet[BlacklistEntry]:
    """Entries in force for any of ``numbers`` (E.164) in the application or every application."""
    now = now or timezone.now()
    return BlacklistEntry.objects.filter(
        Q(application=application) | Q(application__isnull=True),
        number__in=[n for n in numbers if n],
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def check(application: Application, mode: modes.BindingMode, values: dict[str, Any]) -> Checked:
    """Every safeguard of one binding's ``values`` (normalised numbers), before any number is
    taken from the pool; raises :class:`BindingRefused` naming the rule and the field."""
    checked = Checked()
    parties = {"a_number": values.get("a_number", ""), "b_number": values.get("b_number", "")}
    numbers = [number for number in parties.values() if number]
    tone_fields = [name for name in mode.fields if name in TONE_PURPOSES]
    names = [values[name] for name in tone_fields if values.get(name)]
    read = (
        _facts_at_once
        if teams.scope() is None and connection.vendor == "postgresql"
        else _facts_by_orm
    )
    facts = read(application, numbers, parties["a_number"], names, bool(tone_fields))
    if facts.blacklisted is not None:
        number, reason = facts.blacklisted
        raise BindingRefused(
            _("%(number)s is blacklisted (%(reason)s): it cannot be bound.")
            % {"number": mask(number), "reason": reason},
            rule="blacklisted",
            field="a_number" if number == parties["a_number"] else "b_number",
        )
    if facts.registration_policy != RegistrationPolicy.OFF:
        state = facts.registration_state or RegistrationState.UNKNOWN
        if state != RegistrationState.REGISTERED:
            message = _(
                "A number %(number)s is not registered (报备: %(state)s); the carrier may block "
                "its calls."
            ) % {"number": mask(parties["a_number"]), "state": RegistrationState(state).label}
            if facts.registration_policy == RegistrationPolicy.REFUSE:
                raise BindingRefused(message, rule="a_unregistered", field="a_number")
            checked.warnings.append(message)
    if tone_fields:
        _apply_tones(tone_fields, values, facts.files)
    return checked


# ---------------------------------------------------------------------------------------------
# The blacklist's upkeep: every change audited
# ---------------------------------------------------------------------------------------------


def blacklist_number(
    number: str,
    reason: str,
    *,
    application: Application | None = None,
    expires_at: datetime | None = None,
    user=None,
    request=None,
) -> BlacklistEntry:
    """Add one number to the blacklist (normalised to E.164), with an audit row."""
    with transaction.atomic():
        entry = BlacklistEntry.objects.create(
            application=application,
            number=normalize(number),
            reason=reason,
            expires_at=expires_at,
            created_by=user if getattr(user, "pk", None) else None,
        )
        record_change(AuditAction.CREATE, entry, user=user, request=request)
    return entry


def record_change(action: str, entry: BlacklistEntry, *, user=None, request=None) -> None:
    """The audit row of one change to the blacklist (the admin's edits and deletions too)."""
    audit.record(
        action,
        entry,
        user=user,
        request=request,
        details={
            "number": entry.number,
            "reason": entry.reason,
            "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
            "application": entry.application_id,
        },
    )


def unblacklist(entries: QuerySet[BlacklistEntry], *, user=None, request=None) -> int:
    """Remove entries, one audit row each."""
    done = 0
    with transaction.atomic():
        for entry in entries.select_for_update():
            record_change(AuditAction.DELETE, entry, user=user, request=request)
            entry.delete()
            done += 1
    return done


@dataclass
class Imported:
    """What an import did: rows stored, and the rows refused with why (row numbers from 2)."""

    stored: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    text = str(value or "").strip()
    if not text:
        return None
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(_("“%(text)s” is not a date (YYYY-MM-DD).") % {"text": text})
        moment = datetime(day.year, day.month, day.day)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _rows(file_format: str, content: bytes) -> tuple[list[str], Iterable[tuple[int, list[Any]]]]:
    rows = uploads.file_rows(file_format, content, uploads.Limits.number_import())
    header = [str(h or "").strip().lower() for h in next(rows, [])]
    return header, enumerate(rows, start=2)


def import_blacklist(
    file_format: str, content: bytes, *, application: Application | None, user=None, request=None
) -> Imported:
    """Blacklist the numbers of a CSV/XLSX file (columns ``number``, ``reason``, ``expires``),
    within the upload limits of an X-number import; one audit row per entry."""
    header, rows = _rows(file_format, content)
    if "number" not in header:
        raise uploads.UploadRefused(_("The first row must name the columns: number, reason."))
    result = Imported()
    for line, row in rows:
        cells = dict(zip(header, row, strict=False))
        if not any(str(c or "").strip() for c in row):
            continue
        try:
            blacklist_number(
                str(cells.get("number") or ""),
                str(cells.get("reason") or "").strip() or _("Imported"),
                application=application,
                expires_at=_when(cells.get("expires")),
                user=user,
                request=request,
            )
        except (InvalidNumber, ValueError) as error:
            message = error.messages[0] if isinstance(error, InvalidNumber) else str(error)
            result.refused.append((line, message))
            continue
        result.stored += 1
    return result


def import_registrations(
    file_format: str, content: bytes, *, application: Application, user=None, request=None
) -> Imported:
    """Register A numbers from a CSV/XLSX file (columns ``number``, ``state``, ``note``): a
    number already known has its state and note replaced. One audit row for the import."""
    header, rows = _rows(file_format, content)
    if "number" not in header:
        raise uploads.UploadRefused(_("The first row must name the columns: number, state."))
    states = {s.value for s in RegistrationState} | {
        str(s.label).lower() for s in RegistrationState
    }
    by_label = {str(s.label).lower(): s.value for s in RegistrationState}
    result = Imported()
    with transaction.atomic():
        for line, row in rows:
            cells = dict(zip(header, row, strict=False))
            if not any(str(c or "").strip() for c in row):
                continue
            state = str(cells.get("state") or RegistrationState.REGISTERED).strip().lower()
            if state not in states:
                result.refused.append(
                    (line, _("“%(state)s” is not a registration state.") % {"state": state})
                )
                continue
            try:
                number = normalize(str(cells.get("number") or ""))
            except InvalidNumber as error:
                result.refused.append((line, error.messages[0]))
                continue
            ANumberRegistration.objects.update_or_create(
                application=application,
                number=number,
                defaults={
                    "state": by_label.get(state, state),
                    "note": str(cells.get("note") or "").strip()[:200],
                },
            )
            result.stored += 1
        audit.record(
            AuditAction.IMPORT,
            ANumberRegistration,
            user=user,
            request=request,
            label=f"A-number registrations of {application}",
            details={"stored": result.stored, "refused": len(result.refused)},
        )
    return result
