"""Teams (console.teams): superusers only, since a team decides what its members see."""

from __future__ import annotations

from django.contrib import admin

from console import audit
from console.admin.base import ConsoleModelAdmin
from console.choices import AuditAction
from console.models import Team


@admin.register(Team)
class TeamAdmin(ConsoleModelAdmin):
    """A team's applications and members; every change audited."""

    list_display = ["name"]
    filter_horizontal = ["applications", "members"]
    search_fields = ["name"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        team = form.instance
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            team,
            request=request,
            details={
                "applications": sorted(team.applications.values_list("pk", flat=True)),
                "members": sorted(team.members.values_list("username", flat=True)),
            },
        )
