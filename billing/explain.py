"""Why did this call fail? Codes of a call, decoded in the reader's language with advice.

``privatenumber.codes`` holds the platform's meaning of each code in Chinese and English and,
for many codes, what to do. Where it gives no advice, the cause's category says what a
customer-service agent can do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Explained:
    """One code of a call, as a reader sees it."""

    label: str
    code: int | None
    category: str
    category_name: str
    meaning: str
    advice: str


def _chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def explain(label: str, cause: codes.Cause) -> Explained:
    zh = _chinese()
    meaning = cause.zh if zh else cause.en
    action = cause.action_zh if zh else cause.action_en
    en_name, zh_name = codes.CATEGORIES.get(cause.category, ("", ""))
    return Explained(
        label=label,
        code=cause.code if cause.code >= 0 else None,
        category=cause.category,
        category_name=(zh_name if zh else en_name) or cause.category,
        meaning=meaning,
        advice=action or str(CATEGORY_ADVICE.get(cause.category, CATEGORY_ADVICE["unknown"])),
    )


def hangup_cause(code: int | None) -> Explained:
    return explain(str(_("Hang-up cause")), codes.hangup_cause(code))


def release_point(code: int | None) -> Explained:
    return explain(str(_("Release point")), codes.release_point(code))


def q850(code: int | None, label: str | None = None) -> Explained:
    return explain(label or str(_("Q.850 cause")), codes.q850_cause(code))


def release_point_text(code: int | None) -> str:
    """Short text of a release point for tables and charts."""
    cause = codes.release_point(code)
    return cause.zh if _chinese() else cause.en
