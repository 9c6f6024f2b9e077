"""Statuses and enumerations of X numbers and bindings."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BindingStatus(models.TextChoices):
    """Life of a binding in the console. ``pending`` until the platform answers the bind."""

    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    FAILED = "failed", _("Failed")
    ENDING = "ending", _("Ending")
    ENDED = "ended", _("Ended")
    EXPIRED = "expired", _("Expired")


LIVE_BINDING_STATUSES = (BindingStatus.PENDING, BindingStatus.ACTIVE, BindingStatus.ENDING)


class NumberState(models.TextChoices):
    """Our own view of an X number in the pool."""

    AVAILABLE = "available", _("Available")
    IN_USE = "in_use", _("In use")
    COOLING = "cooling", _("Cooling down")
    RETIRED = "retired", _("Retired")


class PlatformNumberStatus(models.TextChoices):
    """X-number status as the platform pushes it (spec §6.3)."""

    NORMAL = "5", _("Normal")
    PAUSED = "9", _("Paused (no bind, call or SMS)")
    UNAVAILABLE = "10", _("Unavailable (no bind, call or SMS)")
    FROZEN = "11", _("Binding frozen (existing bindings keep working)")


class AreaMatchMode(models.TextChoices):
    """How X is chosen by city (spec §5.1.1 areaMatchMode)."""

    STRICT = "0", _("Strict: only that city")
    LOOSE = "1", _("Loose: same province first, then any")


class CallDirection(models.IntegerChoices):
    """Allowed call direction of a binding (the labels of AXB and AXYB; AX has its own)."""

    BOTH = 0, _("Both directions")
    A_TO_B = 1, _("Only A calls B")
    B_TO_A = 2, _("Only B calls A")


# AX has no B: A owns X, anybody calls A through it and A calls out through it (spec §5.2.1);
# the mode table (bindings.modes) gives AX these labels.
AX_CALL_DIRECTIONS = (
    (CallDirection.BOTH, _("Both directions")),
    (CallDirection.A_TO_B, _("Only A calls out through X")),
    (CallDirection.B_TO_A, _("Only calls to A through X")),
)


class EndReason(models.TextChoices):
    """Why a binding ended (or is ending); ``expired`` ends as status ``expired``."""

    REQUESTED = "requested", _("Ended by a person")
    BULK = "bulk", _("Ended in bulk")
    EXPIRED = "expired", _("Its time was up")
    LOST = "lost", _("The platform no longer has it")
    REFUSED = "refused", _("The platform refused the bind")


class BulkJobStatus(models.TextChoices):
    """Life of a bulk upload."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class NumberImportState(models.TextChoices):
    """Life of an X-number import: validated off the request, previewed, imported on confirm."""

    QUEUED = "queued", _("Queued")
    VALIDATING = "validating", _("Validating")
    PREVIEWED = "previewed", _("Ready to confirm")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class VoicePurpose(models.TextChoices):
    """What a tone file of the catalog is played for (issue 16); each binding tone field takes
    files of one purpose (``bindings.safeguards.TONE_PURPOSES``)."""

    HINT = "hint", _("Hint")
    WAITING = "waiting", _("Waiting")
    LAST_MINUTE = "last_minute", _("Last minute")
    RECORD_NOTICE = "record_notice", _("Recording notice")
    CLOSE = "close", _("Close voice")


class ReviewState(models.TextChoices):
    """Huawei's review of an uploaded tone file, as an administrator entered it."""

    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class RegistrationState(models.TextChoices):
    """Whether the real user of an A number is registered (报备) with the carrier."""

    REGISTERED = "registered", _("Registered")
    PENDING = "pending", _("Registration pending")
    REJECTED = "rejected", _("Rejected")
    UNKNOWN = "unknown", _("Unknown")


class RegistrationPolicy(models.TextChoices):
    """What binding an A number that is not registered does, per application."""

    OFF = "off", _("Not checked")
    WARN = "warn", _("Warn")
    REFUSE = "refuse", _("Refuse")
