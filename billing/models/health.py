"""The health figures of each X number, and the complaints administrators enter."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.teams import ScopedManager


class NumberHealth(models.Model):
    """One X number's rolling figures, from its own CDRs, the complaints entered about it and
    the platform's status pushes (issue 16), as ``billing.health.assess`` last computed them.

    Calls are counted since ``judged_since`` (the end of its last rest, so that the calls that
    earned it a rest do not earn it another) within the application's window. ``daily`` holds
    one ``[day, calls, answered, short]`` per day of the window: the trend on the worst-numbers
    page. ``score`` orders that page: the furthest any figure is past its threshold.
    """

    x = models.OneToOneField(
        "bindings.XNumber",
        verbose_name=_("X number"),
        on_delete=models.CASCADE,
        related_name="health",
    )
    application = models.ForeignKey(
        "console.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    calls = models.PositiveIntegerField(_("calls"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)
    short_calls = models.PositiveIntegerField(_("short calls"), default=0)
    complaints = models.PositiveIntegerField(_("complaints"), default=0)
    # Of ``complaints``: the carrier restrictions the platform pushed (status 10, cause 5).
    restrictions = models.PositiveIntegerField(_("carrier restrictions"), default=0)
    unusable_hours = models.FloatField(_("hours out of service"), default=0)
    calls_per_day = models.FloatField(_("calls per day"), default=0)
    answer_rate = models.FloatField(_("answer rate"), null=True, blank=True)
    short_call_ratio = models.FloatField(_("short-call ratio"), null=True, blank=True)
    unanswered_ratio = models.FloatField(_("unanswered ratio"), null=True, blank=True)
    daily = models.JSONField(_("trend"), default=list, blank=True)
    score = models.FloatField(_("score"), default=0, db_index=True)
    judged_since = models.DateTimeField(_("judged since"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    objects = ScopedManager()  # only the applications of the user's teams (console.teams)

    class Meta:
        verbose_name = _("number health")
        verbose_name_plural = _("number health")
        ordering = ["-score", "x"]

    def __str__(self) -> str:
        return str(self.x_id)


class NumberComplaint(models.Model):
    """A complaint about calls from one X, entered by an administrator (Huawei may suspend a
    service whose complaint rate passes 0.05 % and blacklists an X after complaints)."""

    x = models.ForeignKey(
        "bindings.XNumber",
        verbose_name=_("X number"),
        on_delete=models.CASCADE,
        related_name="complaints",
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["x", "received_at"], name="numbercomplaint_x")]

    def __str__(self) -> str:
        return f"{self.x_id} {self.received_at:%Y-%m-%d}"
