"""API keys: an administrator makes one (its token is shown once), scopes it, revokes it."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console import apikeys, audit
from console.admin.base import ConsoleModelAdmin
from console.choices import ApiScope, AuditAction
from console.models import ApiKey


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["name", "applications", "scopes", "rate_per_minute"]


@admin.register(ApiKey)
class ApiKeyAdmin(ConsoleModelAdmin):
    """Keys of the systems that call the API. The token is shown once, on saving a new key;
    only its hash is kept. Revoking is at once and audited."""

    form = ApiKeyForm
    list_display = ["name", "prefix", "scopes_shown", "last_used_at", "revoked_at", "created_at"]
    list_filter = ["applications"]
    search_fields = ["name", "prefix"]
    filter_horizontal = ["applications"]
    readonly_fields = ["prefix", "last_used_at", "revoked_at", "created_by", "created_at"]
    actions = ["revoke"]

    @admin.display(description=_("scopes"))
    def scopes_shown(self, key: ApiKey) -> str:
        return ", ".join(key.scopes or [])

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: its audit rows keep naming it

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            audit.record(AuditAction.MODIFY, obj, request=request, details={"scopes": obj.scopes})
            return
        token = apikeys.set_token(obj)
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        audit.record(AuditAction.CREATE, obj, request=request, details={"scopes": obj.scopes})
        messages.warning(
            request,
            _("The key of %(name)s is %(token)s. Copy it now: it is never shown again.")
            % {"name": obj.name, "token": token},
        )

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset) -> None:
        done = sum(apikeys.revoke(key, user=request.user, request=request) for key in queryset)
        self.message_user(
            request,
            ngettext("%(n)d key revoked.", "%(n)d keys revoked.", done) % {"n": done},
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.revoked_at and obj.revoked_at <= timezone.now():
            fields += ["name", "applications", "scopes", "rate_per_minute"]
        return fields
