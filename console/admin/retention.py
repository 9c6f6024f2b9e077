"""Retention policies: the form shows what the next run would remove before the policy is saved."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext as _

from console import audit, retention
from console.admin.base import ConsoleModelAdmin
from console.choices import AuditAction
from console.confirm import confirmation, confirmed
from console.models import RetentionPolicy


def history_lines(policy: RetentionPolicy) -> list[str]:
    """What the policy's whole-months setting would do (the months are every application's)."""
    if policy.call_history_months is None:
        return []
    first = retention.history_cutoff(instead=policy)
    if first is not None:
        return [
            _("Call history: every month before %(month)s is removed, for all applications.")
            % {"month": f"{first:%Y-%m}"}
        ]
    waiting = sum(
        1 for months in retention.history_months(instead=policy).values() if months is None
    )
    return [
        _(
            "Call history: nothing yet; %(count)s other application(s) keep every month, and the "
            "months are shared."
        )
        % {"count": waiting}
    ]


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(ConsoleModelAdmin):
    """One policy per application; saving asks first, with the rows the next run would remove."""

    list_display = [
        "application",
        "call_data_days",
        "call_history_months",
        "push_bodies_days",
        "recordings_days",
        "ended_bindings_days",
        "updated_at",
    ]
    list_select_related = ["application"]
    ordering = ["application__name"]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and not confirmed(request):
            obj = self.get_object(request, object_id) if object_id else None
            form = self.get_form(request, obj)(request.POST, request.FILES, instance=obj)
            if form.is_valid():
                policy = form.save(commit=False)
                effect = retention.preview(policy)
                hidden = [
                    (name, value)
                    for name, values in request.POST.lists()
                    if name != "csrfmiddlewaretoken"
                    for value in values
                ]
                lines = [f"{part.label}: {count}" for part, count in effect]
                lines += history_lines(policy)
                return confirmation(
                    request,
                    title=_("Save this retention policy?"),
                    question=_("The next run removes or pseudonymises these rows of %(app)s:")
                    % {"app": policy.application},
                    objects=lines or [_("nothing")],
                    confirm_label=_("Save the policy"),
                    hidden=hidden,
                    back_url=request.get_full_path(),
                    context={**self.admin_site.each_context(request), "opts": self.model._meta},
                )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            obj,
            request=request,
            details={"fields": form.changed_data},
        )
