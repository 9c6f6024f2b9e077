"""The inbox of pushes: failed ones listed and re-processed after a fix, held ones released or
discarded, bodies shown masked, raw bodies for administrators only."""

from __future__ import annotations

import contextlib
import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console import audit, inbox, privacy
from console.admin.base import (
    DefaultedListFilter,
    ReadOnlyAdmin,
)
from console.choices import AuditAction, DeliveryState
from console.models import Delivery
from console.numbers import mask_text
from console.paginators import LargeTablePaginator


class DeliveryStateFilter(DefaultedListFilter):
    """State, failed by default: the page an administrator comes for is what failed."""

    title = _("state")
    parameter_name = "state"
    ALL = "all"
    default = DeliveryState.FAILED

    def lookups(self, request, model_admin):
        return [*DeliveryState.choices, (self.ALL, _("All"))]

    def queryset(self, request, queryset):
        value = self.value() or self.default
        if value == self.ALL:
            return queryset
        return queryset.filter(state=value)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The push inbox. Opens on the failed deliveries; re-processing is an audited action.

    Read-only: a delivery is what the platform sent. The raw body (real numbers) is never shown
    on the page; administrators holding ``download_delivery_body`` can download it.
    """

    list_display = [
        "received_at",
        "application",
        "endpoint",
        "kind",
        "state",
        "hold_reason",
        "items",
        "size",
        "attempts",
        "short_error",
    ]
    list_filter = [DeliveryStateFilter, "kind", "endpoint", "application"]
    search_fields = ["=digest"]
    list_select_related = ["application"]
    sortable_by = ["received_at"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["reprocess_selected", "release_selected", "discard_selected"]
    fields = [
        "received_at",
        "application",
        "endpoint",
        "kind",
        "state",
        "hold_reason",
        "signed_at",
        "nonce",
        "note",
        "error_field",
        "error_masked",
        "items",
        "size",
        "scheme",
        "digest",
        "attempts",
        "processed_at",
        "answer_masked",
        "masked_body",
        "body_link",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body")

    def get_search_results(self, request, queryset, search_term):
        """The body's SHA-256, matched exactly on its index (Django's ``=digest`` is
        case-insensitive: UPPER(digest) = …, which reads every row)."""
        term = (search_term or "").strip().lower()
        if not term:
            return queryset, False
        return queryset.filter(digest=term), False

    def has_reprocess_permission(self, request) -> bool:
        return request.user.has_perm("console.reprocess_delivery")

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("console.release_delivery")

    @admin.display(description=_("body (numbers masked)"))
    def masked_body(self, obj: Delivery):
        if obj.pk is None:
            return "—"
        raw = bytes(Delivery.objects.values_list("body", flat=True).get(pk=obj.pk))
        return format_html('<pre class="delivery-body">{}</pre>', masked(raw))

    @admin.display(description=_("error"))
    def short_error(self, obj: Delivery) -> str:
        error = mask_text(obj.error)
        return (error[:120] + "…") if len(error) > 120 else error

    @admin.display(description=_("error"))
    def error_masked(self, obj: Delivery) -> str:
        # An error may quote the value it refused: a real number (console.privacy).
        return mask_text(obj.error)

    @admin.display(description=_("answer sent"))
    def answer_masked(self, obj: Delivery) -> str:
        return mask_text(json.dumps(obj.answer, ensure_ascii=False)) if obj.answer else "–"

    @admin.display(description=_("raw body"))
    def body_link(self, obj: Delivery):
        if obj.pk is None:
            return "—"
        url = reverse("admin:console_delivery_body", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a> ({})',
            url,
            _("download (administrators only)"),
            _("%(size)s bytes") % {"size": obj.size},
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/body/",
                self.admin_site.admin_view(self.download_body),
                name="console_delivery_body",
            ),
            *super().get_urls(),
        ]

    def download_body(self, request, pk: int):
        """The raw body as received; audited, since it carries real numbers (so it also takes the
        one permission that shows them, ``console.privacy``)."""
        user = request.user
        if not (
            user.has_perm("console.download_delivery_body") and privacy.may_see_real_numbers(user)
        ):
            raise PermissionDenied
        delivery = get_object_or_404(Delivery, pk=pk)
        audit.record(
            AuditAction.DOWNLOAD, delivery, request=request, details={"what": "raw push body"}
        )
        response = HttpResponse(bytes(delivery.body), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="delivery-{delivery.pk}.json"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.action(description=_("Release the selected held pushes"), permissions=["release"])
    def release_selected(self, request, queryset):
        ids = list(queryset.filter(state=DeliveryState.HELD).values_list("pk", flat=True))
        results = [inbox.release(pk, request=request) for pk in ids]
        done = sum(1 for result in results if result.ok)
        if done:
            self.message_user(
                request,
                ngettext("%(n)d held push released.", "%(n)d held pushes released.", done)
                % {"n": done},
                messages.SUCCESS,
            )
        for result in results:
            if not result.ok:
                self.message_user(
                    request,
                    _("Held push %(id)s could not be applied: %(error)s")
                    % {"id": result.delivery_id, "error": result.error},
                    messages.ERROR,
                )
        if not ids:
            self.message_user(request, _("None of the selected pushes is held."), messages.WARNING)

    @admin.action(description=_("Discard the selected held pushes"), permissions=["release"])
    def discard_selected(self, request, queryset):
        ids = list(queryset.filter(state=DeliveryState.HELD).values_list("pk", flat=True))
        done = sum(1 for pk in ids if inbox.discard(pk, request=request))
        if done:
            self.message_user(
                request,
                ngettext("%(n)d held push discarded.", "%(n)d held pushes discarded.", done)
                % {"n": done},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, _("None of the selected pushes is held."), messages.WARNING)

    @admin.action(
        description=_("Re-process the selected failed deliveries"), permissions=["reprocess"]
    )
    def reprocess_selected(self, request, queryset):
        ids = list(queryset.filter(state=DeliveryState.FAILED).values_list("pk", flat=True))
        results = [inbox.reprocess(pk, request=request) for pk in ids]
        done = sum(1 for result in results if result.ok)
        failed = [result for result in results if not result.ok]
        if done:
            self.message_user(
                request,
                ngettext("%(n)d delivery re-processed.", "%(n)d deliveries re-processed.", done)
                % {"n": done},
                messages.SUCCESS,
            )
        for result in failed:
            self.message_user(
                request,
                _("Delivery %(id)s failed again: %(error)s")
                % {"id": result.delivery_id, "error": result.error},
                messages.ERROR,
            )
        if not ids:
            self.message_user(
                request, _("None of the selected deliveries has failed."), messages.WARNING
            )


def masked(body: bytes) -> str:
    """A pushed body for the page: pretty JSON (or the text) with every phone number masked."""
    text = body.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    return mask_text(text)
