"""What keeps numbers healthy before the platform is called (issue 16): the tone-file catalog,
the blacklist, the register of A numbers (报备) and each application's policy and thresholds.

Huawei has no API for any of these: administrators enter them (the admin, CSV/XLSX imports), and
``bindings.safeguards`` applies them in ``create_binding`` before any platform call.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bindings.choices import RegistrationPolicy, RegistrationState, ReviewState, VoicePurpose
from console.numbers import InvalidNumber, mask, normalize
from console.teams import ScopedManager


def _ratio(**kwargs):
    return models.DecimalField(
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        **kwargs,
    )


class ApplicationPolicy(models.Model):
    """One application's safeguards: its A-number policy, the thresholds of the number-health
    guard and how far ahead the pool forecast looks. An application without a row has the
    defaults (:meth:`for_application`)."""

    application = models.OneToOneField(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="policy",
    )
    registration_policy = models.CharField(
        _("A numbers not registered"),
        max_length=8,
        choices=RegistrationPolicy.choices,
        default=RegistrationPolicy.OFF,
    )
    # The guard's thresholds, over the last ``health_window_days`` days of an X's calls.
    health_window_days = models.PositiveSmallIntegerField(
        _("health window (days)"), default=7, validators=[MinValueValidator(1)]
    )
    min_calls = models.PositiveIntegerField(
        _("calls before judging"),
        default=20,
        help_text=_("An X with fewer calls in the window is never rested for its ratios."),
    )
    short_call_seconds = models.PositiveSmallIntegerField(_("short call (seconds)"), default=10)
    max_short_call_ratio = _ratio(verbose_name=_("most short calls"), default=0.5)
    min_answer_rate = _ratio(verbose_name=_("least answer rate"), default=0.2)
    max_unanswered_ratio = _ratio(verbose_name=_("most unanswered calls"), default=0.8)
    max_calls_per_day = models.PositiveIntegerField(_("most calls per day"), default=500)
    max_complaints = models.PositiveIntegerField(_("most complaints"), default=1)
    max_unusable_hours = models.PositiveIntegerField(
        _("most hours paused, unavailable or frozen"),
        default=24,
        help_text=_(
            "Over the window, by the platform's X-number status pushes: a number that is often "
            "out of service rests once it is back."
        ),
    )
    rest_hours = models.PositiveIntegerField(_("rest (hours)"), default=72)
    forecast_days = models.PositiveSmallIntegerField(
        _("pool must last (days)"), default=14, validators=[MinValueValidator(1)]
    )

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("application policy")
        verbose_name_plural = _("application policies")

    def __str__(self) -> str:
        return str(self.application)

    @classmethod
    def for_application(cls, application) -> ApplicationPolicy:
        """The application's row, or an unsaved one with the defaults."""
        application_id = getattr(application, "pk", application)
        found = cls.objects.filter(application_id=application_id).first()
        return found or cls(application_id=application_id)


class VoiceFile(models.Model):
    """A tone file uploaded to Huawei for one application, with its purpose and review state.

    Bindings may name only approved files of the right purpose (``bindings.safeguards``). The
    default file of a purpose fills that tone of every binding that names none.
    """

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="voice_files",
    )
    name = models.CharField(_("file name"), max_length=128)
    purpose = models.CharField(_("purpose"), max_length=16, choices=VoicePurpose.choices)
    review_state = models.CharField(
        _("review"), max_length=10, choices=ReviewState.choices, default=ReviewState.PENDING
    )
    is_default = models.BooleanField(
        _("application default"),
        default=False,
        help_text=_("Used by bindings that name no file of this purpose (when approved)."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("tone file")
        verbose_name_plural = _("tone files")
        ordering = ["application", "purpose", "name"]
        constraints = [
            models.UniqueConstraint(fields=["application", "name"], name="voicefile_unique_name"),
            models.UniqueConstraint(
                fields=["application", "purpose"],
                condition=Q(is_default=True),
                name="voicefile_one_default_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BlacklistEntry(models.Model):
    """A real number the console refuses to bind, until ``expires_at`` (empty: for good).

    ``application`` empty: every application. Each change leaves an audit row
    (``bindings.safeguards``).
    """

    REAL_NUMBER_FIELDS = ("number",)

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="blacklist",
        help_text=_("Empty: every application."),
    )
    number = models.CharField(_("number"), max_length=32, db_index=True)
    reason = models.CharField(_("reason"), max_length=200)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("entered"), default=timezone.now)

    # Teams see their applications' entries and those of every application.
    objects = ScopedManager(shared_when_null=True)

    class Meta:
        verbose_name = _("blacklisted number")
        verbose_name_plural = _("blacklist")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return mask(self.number)

    def clean(self) -> None:
        # Stored in E.164 whatever form it was typed in, so that the checks find it.
        try:
            self.number = normalize(self.number)
        except InvalidNumber as error:
            raise ValidationError({"number": error.messages}) from None


class ANumberRegistration(models.Model):
    """Whether the real user of an A number is registered (报备) for one application."""

    REAL_NUMBER_FIELDS = ("number",)

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="a_registrations",
    )
    number = models.CharField(_("A number"), max_length=32)
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=RegistrationState.choices,
        default=RegistrationState.UNKNOWN,
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("A-number registration")
        verbose_name_plural = _("A-number registrations")
        ordering = ["application", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "number"], name="anumberregistration_unique"
            )
        ]

    def __str__(self) -> str:
        return mask(self.number)

    def clean(self) -> None:
        # Stored in E.164 whatever form it was typed in, so that the checks find it.
        try:
            self.number = normalize(self.number)
        except InvalidNumber as error:
            raise ValidationError({"number": error.messages}) from None


class PoolUsageDay(models.Model):
    """The most live bindings one application's pool in one city carried on one day: the usage
    history the pool forecast reads (``bindings.forecast``), recorded hourly by beat from the
    pool's own counts (never a scan of the bindings)."""

    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # led by the unique constraint's index
    )
    city_code = models.CharField(_("city code"), max_length=8)
    day = models.DateField(_("day"))
    peak_bindings = models.PositiveIntegerField(_("most live bindings"), default=0)
    capacity = models.PositiveIntegerField(_("capacity"), default=0)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("pool usage of a day")
        verbose_name_plural = _("pool usage by day")
        ordering = ["application", "city_code", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "city_code", "day"], name="poolusageday_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.city_code} {self.day}"


class XStatusChange(models.Model):
    """One change of an X number's platform status, as the platform pushed it (spec §6.3): the
    history the number-health guard reads for the time an X was paused, unavailable or frozen,
    and for the restrictions that are how a blacklisting after complaints arrives (status 10,
    cause 5). Written only when a push changes the number, so a repeated push adds nothing."""

    x = models.ForeignKey(
        "bindings.XNumber",
        verbose_name=_("X number"),
        on_delete=models.CASCADE,
        related_name="status_changes",
        db_index=False,  # led by the (x, at) index
    )
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    status = models.CharField(_("platform status"), max_length=2)
    cause = models.CharField(_("platform cause"), max_length=4, blank=True)
    at = models.DateTimeField(_("pushed"), default=timezone.now)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("X-number status change")
        verbose_name_plural = _("X-number status changes")
        ordering = ["x", "at", "id"]
        indexes = [models.Index(fields=["x", "at"], name="xstatuschange_x_at")]

    def __str__(self) -> str:
        return f"{self.x_id} {self.status}/{self.cause} {self.at:%Y-%m-%d %H:%M}"
