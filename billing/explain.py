"""Why did this call fail? Codes of a call, decoded in the reader's language with advice.

``privatenumber.codes`` holds the platform's meaning of each code in Chinese and English and,
for many codes, what to do. Where it gives no advice, the cause's category says what a
customer-service agent can do about it.

:func:`call_reasons` explains every code of one call so that they never contradict each other:
a code read on its own can say "normal" (Q.850 16 *normal call clearing*, or any cause of the
Q.850 "normal event" class such as 20 *subscriber absent*) on a call that was never answered, or
"the callee did not take the call" (release point 7503 *callee hung up*) on one that was. The
call's outcome decides: an answered call's ordinary endings read as a normal end, and an
unanswered call's "normal" codes take the category of the call's failure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from privatenumber import codes

# What to do, by category, when the code itself carries no advice.
CATEGORY_ADVICE = {
    "normal": _("Nothing to do: the call was answered and ended normally."),
    "callee": _(
        "The called party did not take the call (busy, no answer, rejected, unreachable or "
        "switched off). Nothing is wrong with the binding: the caller may try again later."
    ),
    "caller": _(
        "The caller hung up before the call was answered. Nothing is wrong with the binding."
    ),
    "binding": _(
        "The binding was missing, expired or did not allow this direction. Check the binding, "
        "its expiry and that its numbers are in +86 format; create it again if needed."
    ),
    "number": _("The dialled privacy number does not exist or is not usable. Check X's status."),
    "tenant": _(
        "The application is not set up for this call (capability, voice files or account "
        "status). An administrator should check the application on Huawei Cloud."
    ),
    "control": _(
        "The platform's call control blocked the call (frequency, blacklist, time window or X "
        "status). Check the number's status; if calls keep failing, contact Huawei Cloud."
    ),
    "platform": _(
        "A problem on the platform's side. Ask the caller to try again; if it persists, an "
        "administrator should contact Huawei Cloud."
    ),
    "network": _(
        "A network problem on the caller's or callee's side, or a malformed bound number. "
        "Check the numbers of the binding; otherwise ask the caller to try again."
    ),
    "unknown": _("This code is not documented. Keep the call's session id and ask Huawei Cloud."),
}


# What a Q.850 cause on the forwarded leg (fwdUnaswRsn, callOutUnaswRsn) says about the call, in
# the categories above; ITU-T's own classes ("normal event", "resource unavailable" …) say nothing
# a reader can act on. Unlisted codes: the platform or the network between.
Q850_CATEGORIES: dict[int, str] = {
    16: "normal",  # normal call clearing
    31: "normal",  # normal, unspecified
    17: "callee",  # user busy
    18: "callee",  # no user responding
    19: "callee",  # no answer (alerted)
    20: "callee",  # subscriber absent
    21: "callee",  # call rejected
    26: "callee",  # non-selected user clearing
    27: "callee",  # destination out of order
    102: "callee",  # recovery on timer expiry: nobody answered in time
    1: "network",  # unallocated number: a wrong bound number
    22: "network",  # number changed
    28: "network",  # invalid number format
}
for _code in (2, 3, 25, 34, 38, 41, 42, 44, 47):  # routes, circuits, congestion
    Q850_CATEGORIES[_code] = "network"
# Categories that describe how a call ends, not a fault: on an answered call they are its end.
ENDINGS = frozenset({"normal", "caller", "callee"})


@dataclass(frozen=True)
class Explained:
    """One code of a call, as a reader sees it."""

    label: str
    code: int | None
    category: str
    category_name: str
    meaning: str
    advice: str
    # Where the console helps with it (the A-number register for an unregistered caller).
    link: str = ""
    link_text: str = ""


def _chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def explain(label: str, cause: codes.Cause, category: str | None = None) -> Explained:
    """One code explained; ``category`` overrides the code's own (the call's reading of it)."""
    zh = _chinese()
    meaning = cause.zh if zh else cause.en
    action = cause.action_zh if zh else cause.action_en
    if category is not None and category != cause.category:
        action = ""  # the code's own advice is for its own category
    category = category or cause.category
    if category not in codes.CATEGORIES:
        category = "unknown"
    en_name, zh_name = codes.CATEGORIES[category]
    return Explained(
        label=label,
        code=cause.code if cause.code >= 0 else None,
        category=category,
        category_name=zh_name if zh else en_name,
        meaning=meaning,
        advice=action or str(CATEGORY_ADVICE[category]),
    )


# Hang-up causes that mean the caller's real user is not registered (报备): the explanation
# links to the console's register of A numbers (bindings.ANumberRegistration).
UNREGISTERED_CALLER_CAUSES = frozenset({8058})


def hangup_cause(code: int | None) -> Explained:
    explained = explain(str(_("Hang-up cause")), codes.hangup_cause(code))
    if code in UNREGISTERED_CALLER_CAUSES:
        explained = replace(
            explained,
            link=reverse("admin:bindings_anumberregistration_changelist"),
            link_text=str(_("Check the caller in the A-number register (报备)")),
        )
    return explained


def release_point(code: int | None) -> Explained:
    return explain(str(_("Release point")), codes.release_point(code))


def q850(code: int | None, label: str | None = None) -> Explained:
    cause = codes.q850_cause(code)
    category = Q850_CATEGORIES.get(cause.code, "platform" if cause.code > 0 else "unknown")
    return explain(label or str(_("Q.850 cause")), cause, category)


def call_reasons(
    *,
    answered: bool,
    hangup: int | None = None,
    no_binding: bool = False,
    release: int | None = None,
    q850_forward: int | None = None,
    q850_call_out: int | None = None,
) -> list[Explained]:
    """Every code that says why one call ended as it did, read together (see the module).

    ``hangup`` is the disconnect event's stateCode; a call without one that the platform found no
    binding for is explained as 8014. ``release`` and the Q.850 causes come from its CDR; 0 Q.850
    causes ("not applicable") are left out.
    """
    reasons = []
    if hangup is not None:
        reasons.append(hangup_cause(hangup))
    elif no_binding:
        reasons.append(hangup_cause(8014))
    if release is not None:
        reasons.append(release_point(release))
    if q850_forward:
        reasons.append(q850(q850_forward))
    if q850_call_out:
        reasons.append(q850(q850_call_out, str(_("Q.850 cause of call-out"))))
    if answered:
        # Whoever hung up, an answered call that ended this way ended normally.
        return [
            _recategorized(reason, "normal") if reason.category in ENDINGS else reason
            for reason in reasons
        ]
    failure = next(
        (r.category for r in reasons if r.category not in ("normal", "unknown")), "unknown"
    )
    return [
        _recategorized(reason, failure) if reason.category == "normal" else reason
        for reason in reasons
    ]


def _recategorized(reason: Explained, category: str) -> Explained:
    if reason.category == category:
        return reason
    en_name, zh_name = codes.CATEGORIES[category]
    return replace(
        reason,
        category=category,
        category_name=zh_name if _chinese() else en_name,
        advice=str(CATEGORY_ADVICE[category]),
    )


def release_point_text(code: int | None) -> str:
    """Short text of a release point for tables and charts."""
    cause = codes.release_point(code)
    return cause.zh if _chinese() else cause.en
