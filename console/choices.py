"""Choice classes of the console package."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Mode(models.TextChoices):
    """The platform's binding modes; an application belongs to exactly one (spec §3, §4)."""

    AXB = "AXB", "AXB"
    AX = "AX", "AX"
    AXE = "AXE", "AXE"
    AXYB = "AXYB", "AXYB"
    X = "X", _("X (customer decides each call)")


class BlockCallRule(models.TextChoices):
    """What the console answers to an X-mode callin in Block mode."""

    CONNECT_BOUND_PARTY = "connect", _("Connect to the bound party")
    CLOSE = "close", _("End the call")


class BlockSmsRule(models.TextChoices):
    """What the console answers to an SMS notice in Block mode."""

    FORWARD = "forward", _("Forward the SMS")
    DISCARD = "discard", _("Discard the SMS")


class CalleeNumDisplay(models.TextChoices):
    """AX bind ``calleeNumDisplay``: what A sees when someone else calls X (spec §5.2.1)."""

    X_NUMBER = "0", _("The X number")
    REAL_CALLER = "1", _("The real caller")


class AuditAction(models.TextChoices):
    """Things people do that leave an audit row."""

    CREATE = "create", _("Create")
    MODIFY = "modify", _("Modify")
    END = "end", _("End")
    REVEAL = "reveal", _("Reveal number")
    IMPORT = "import", _("Import")
    SYNC = "sync", _("Sync with platform")
    PLAY = "play", _("Play recording")
    DOWNLOAD = "download", _("Download")
    EXPORT = "export", _("Export")
    DELETE = "delete", _("Delete")
    REPROCESS = "reprocess", _("Re-process")
    SET_CALLEE = "set_callee", _("Set temporary callee")
    STOP_CALL = "stop_call", _("Stop call")
    SECRET_REPLACED = "secret_replaced", _("Replace secret")
    RELEASE = "release", _("Release")
    DISCARD = "discard", _("Discard")
    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    PAUSE = "pause", _("Pause platform calls")
    RESUME = "resume", _("Resume platform calls")
    REVOKE = "revoke", _("Revoke API key")
    REDELIVER = "redeliver", _("Redeliver webhook")


class HookEndpoint(models.TextChoices):
    """The receiver URL a push arrived on (``/hooks/<endpoint>``)."""

    STATUS = "status", _("Call status")
    FEE = "fee", _("CDRs")
    SMS = "sms", _("SMS")
    XSTATUS = "xstatus", _("X-number status")


class DeliveryKind(models.TextChoices):
    """What a pushed body turned out to be (empty until it could be parsed)."""

    UNKNOWN = "", _("Unreadable")
    CALL_EVENT = "event", _("Call event")
    FEE = "fee", _("CDRs")
    NUM_STATUS = "numStatus", _("X-number status")
    SMS = "sms", _("SMS notice")


class AccessRequestState(models.TextChoices):
    """Where a person's access request (PIPL Art. 45) stands; its file is downloadable once."""

    QUEUED = "queued", _("Queued")
    BUILDING = "building", _("Being gathered")
    READY = "ready", _("Ready to download")
    DOWNLOADED = "downloaded", _("Downloaded")
    FAILED = "failed", _("Failed")


class DeliveryState(models.TextChoices):
    """Where a push stands: applied, kept for a fix, or kept but deliberately not applied.

    ``held``: its digest was right but its header was stale, reused or could not be checked; it
    waits to be corroborated or released (docs/notifications.md). ``duplicate``: a held push found
    to carry nothing new (applied: nothing). ``discarded``: a held push an administrator threw away.
    """

    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    IGNORED = "ignored", _("Ignored")
    HELD = "held", _("Held")
    DUPLICATE = "duplicate", _("Harmless duplicate")
    DISCARDED = "discarded", _("Discarded")


class HoldReason(models.TextChoices):
    """Why a push whose digest was right is held instead of applied."""

    STALE = "stale", _("Created too old (or in the future)")
    REPLAYED = "replayed", _("Header already used with another body")
    UNCHECKED = "unchecked", _("Replay check unavailable")


class AlertKind(models.TextChoices):
    """What an alert is about (each is e-mailed and announced as a webhook: console.alerts)."""

    PLATFORM_LOCKED = "platform_locked", _("Platform calls paused")
    HELD_PUSHES = "held_pushes", _("Pushes held")
    PACKAGE_LOW = "package_low", _("Package running out")
    UNPUSHED_CDRS = "unpushed_cdrs", _("Billed calls never pushed")
    LATE_AFTER_CLOSE = "late_after_close", _("Call records after closing")
    X_RESTING = "x_resting", _("X number resting")
    X_STATUS = "x_status", _("X number frozen or blacklisted")
    POOL_LOW = "pool_low", _("Number pool running out")
    WEBHOOK_PAUSED = "webhook_paused", _("Webhook endpoint paused")
    RECORDINGS_AT_RISK = "recordings_at_risk", _("Recordings at risk")
    PLATFORM_FAILING = "platform_failing", _("Platform link failing")
    PUSHES_FAILED = "pushes_failed", _("Pushes that could not be applied")
    WORKERS_SILENT = "workers_silent", _("Workers or beat silent")


class ApiScope(models.TextChoices):
    """What an API key may do (``resource:verb``); a key holds a list of them."""

    BINDINGS_READ = "bindings:read", _("Read bindings")
    BINDINGS_WRITE = "bindings:write", _("Create, change and end bindings")
    CALLS_READ = "calls:read", _("Read calls and SMS records")
    RECORDINGS_READ = "recordings:read", _("Read recordings")
    NUMBERS_READ = "numbers:read", _("Read X-number pools")
    STATEMENTS_READ = "statements:read", _("Read statements")
    NUMBERS_REAL = "numbers:real", _("See real numbers in full")


class WebhookState(models.TextChoices):
    """Where one webhook delivery (one message to one subscription) stands."""

    PENDING = "pending", _("Waiting to be sent")
    RETRYING = "retrying", _("Failed, retry scheduled")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Gave up after every retry")
