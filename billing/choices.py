"""Enumerations of call events, CDRs, SMS records and statements."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CallEventType(models.TextChoices):
    """The stages of a call the platform reports (spec §6.1), in their order."""

    CALLIN = "callin", _("Call in")
    CALLOUT = "callout", _("Call out")
    ALERTING = "alerting", _("Ringing")
    ANSWER = "answer", _("Answered")
    DISCONNECT = "disconnect", _("Released")


class CallDirection(models.IntegerChoices):
    """CDR ``direction`` (spec §6.2). The meaning of 0 and 1 depends on the mode."""

    TO_A = 0, _("To A (B or another user called A)")
    FROM_A = 1, _("From A (A called B or another user)")
    ABNORMAL = 2, _("Abnormal (e.g. no binding)")


class CallOutcome(models.TextChoices):
    """How a call ended: answered, or the category of its release point (spec §9).

    Categories are those of ``privatenumber.codes``; ``unknown`` covers an unanswered call whose
    release point names no category.
    """

    ANSWERED = "answered", _("Answered")
    CALLEE = "callee", _("Callee did not answer")
    CALLER = "caller", _("Caller hung up")
    BINDING = "binding", _("Binding problem")
    NUMBER = "number", _("Number problem")
    TENANT = "tenant", _("Application problem")
    CONTROL = "control", _("Blocked by call control")
    PLATFORM = "platform", _("Platform problem")
    NETWORK = "network", _("Network problem")
    UNKNOWN = "unknown", _("Not answered, cause unknown")


class SmsDecision(models.TextChoices):
    """What the console told the platform to do with a Block SMS."""

    NONE = "", _("(Notify: nothing to decide)")
    FORWARD = "forward", _("Forwarded")
    DISCARD = "discard", _("Discarded")


class StatementState(models.TextChoices):
    """An open statement is recomputed as CDRs arrive; a closed one is final."""

    # With a context: the bindings catalog's "Open" is the verb of a link ("打开").
    OPEN = "open", pgettext_lazy("statement state", "Open")
    CLOSED = "closed", pgettext_lazy("statement state", "Closed")


class ReconciliationState(models.TextChoices):
    """Life of a bill reconciliation: read by a worker, compared, done (or failed, saying why)."""

    # With a context: billing's catalogue has "Failed" as the time a call failed.
    QUEUED = "queued", pgettext_lazy("reconciliation state", "Queued")
    READING = "reading", _("Reading the bill")
    COMPARING = "comparing", _("Comparing")
    DONE = "done", pgettext_lazy("reconciliation state", "Done")
    FAILED = "failed", pgettext_lazy("reconciliation state", "Failed")


class DifferenceKind(models.TextChoices):
    """How the bill and the console's figures differ (``billing.reconcile``)."""

    # Loudest first: the loss the console exists to prevent.
    UNPUSHED = "unpushed", _("Billed by Huawei, never pushed to the console")
    LENGTH = "length", _("Different length")
    PRICE = "price", _("Different price")
    HOUR = "hour", _("Billed in another hour")
    NOT_BILLED = "not_billed", _("Pushed to the console, not on the bill")
    HOUR_TOTAL = "hour_total", _("Different hourly total")
