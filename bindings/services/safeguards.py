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
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import transaction
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
from console.sql import CompiledQuery

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


def apply_tones(application: Application, mode: modes.BindingMode, values: dict[str, Any]) -> None:
    """Refuse a tone that is not an approved file of its purpose; fill empty ones with the
    application's approved defaults. One query for the whole binding."""
    fields = [name for name in mode.fields if name in TONE_PURPOSES]
    if not fields:
        return
    names = [values[n] for n in fields if values.get(n)]
    if teams.scope() is None:
        files = _compiled_tones(len(names)).all(application.pk, *names)
    else:
        files = list(_tone_files(application, names))
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


# check() runs for every binding made, by a person, a bulk file or the API alike: its three
# queries are compiled once per thread (console.sql.CompiledQuery), outside a team's scope (a
# request under one lets the scoped managers decide, as everywhere). Compiling them cost more
# CPU than PostgreSQL answering them (issue 19). The markers stand for the values while
# compiling; a list of numbers or names makes one compiled query per length.
_APPLICATION_MARK = 2_087_654_321
_NOW_MARK = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


@cache
def _compiled_tones(count: int) -> CompiledQuery:
    return CompiledQuery(
        lambda application_id, *names: _tone_files(application_id, names),
        _APPLICATION_MARK,
        *(f"\x1ftone file {index}" for index in range(count)),
    )


@cache
def _compiled_blacklist(count: int) -> CompiledQuery:
    return CompiledQuery(
        lambda application_id, now, *numbers: blacklisted(application_id, numbers, now=now)[:1],
        _APPLICATION_MARK,
        _NOW_MARK,
        *(f"\x1fnumber {index}" for index in range(count)),
    )


_COMPILED_POLICY = CompiledQuery(
    lambda application_id: ApplicationPolicy.objects.filter(application_id=application_id)[:1],
    _APPLICATION_MARK,
)


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
    compiled = teams.scope() is None
    if not numbers:
        entry = None
    elif compiled:
        entry = _compiled_blacklist(len(numbers)).first(application.pk, timezone.now(), *numbers)
    else:
        entry = blacklisted(application, numbers).first()
    if entry is not None:
        which = "a_number" if entry.number == parties["a_number"] else "b_number"
        raise BindingRefused(
            _("%(number)s is blacklisted (%(reason)s): it cannot be bound.")
            % {"number": mask(entry.number), "reason": entry.reason},
            rule="blacklisted",
            field=which,
        )
    if compiled:
        policy = _COMPILED_POLICY.first(application.pk) or ApplicationPolicy(
            application_id=application.pk
        )
    else:
        policy = ApplicationPolicy.for_application(application)
    if policy.registration_policy != RegistrationPolicy.OFF:
        state = (
            ANumberRegistration.objects.filter(application=application, number=parties["a_number"])
            .values_list("state", flat=True)
            .first()
        ) or RegistrationState.UNKNOWN
        if state != RegistrationState.REGISTERED:
            message = _(
                "A number %(number)s is not registered (报备: %(state)s); the carrier may block "
                "its calls."
            ) % {"number": mask(parties["a_number"]), "state": RegistrationState(state).label}
            if policy.registration_policy == RegistrationPolicy.REFUSE:
                raise BindingRefused(message, rule="a_unregistered", field="a_number")
            checked.warnings.append(message)
    apply_tones(application, mode, values)
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
