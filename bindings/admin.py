"""Admin of bindings, X-number pools, platform calls and reconciliations.

Customer service works in the binding pages only: find a binding by any of its numbers in any
typed form, create one (one form per mode), end it, read its timeline. Real numbers are masked
everywhere; people allowed to see them reveal one at a time, and each reveal is audited. Pools,
platform calls and reconciliations are for administrators.

Big tables never run ``COUNT(*)``: see :class:`console.paginators.LargeTablePaginator`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from bindings import cities, pool, services, timeline
from bindings.choices import BindingStatus, call_direction_label
from bindings.forms import (
    ApplicationChoiceForm,
    BindingModifyForm,
    BulkCreateForm,
    LifetimeField,
    TemporaryCalleeForm,
    bulk_columns,
    form_for_mode,
)
from bindings.models import (
    Binding,
    BulkJob,
    NumberImport,
    Reconciliation,
    XNumber,
)
from bindings.platform import MODIFIABLE
from console import audit, gateway, jobs, uploads
from console.admin import ConsoleModelAdmin, ReadOnlyAdmin
from console.choices import AuditAction, Mode
from console.confirm import confirm_admin_action, confirmation, confirmed
from console.durations import humanized
from console.models import Application
from console.numbers import mask, search_form
from console.paginators import LargeTablePaginator
from privatenumber.errors import PlatformError


def _number_search(queryset, term: str, fields: tuple[str, ...]):
    """Exact, indexed match of a typed number on ``fields``; None when ``term`` is no number."""
    number = search_form(term)
    if number is None:
        return None
    condition = Q()
    for field in fields:
        condition |= Q(**{field: number})
    return queryset.filter(condition)


def _meaning(code: str) -> str:
    return gateway.result_meaning(code, get_language() or "zh-hans")


# Read-only lines of a binding's page and the model field each shows: when the field is in the
# change form, its line is left out.
READ_ONLY_FORM_OF = {
    "lifetime": "duration",
    "call_direction_shown": "call_direction",
    "max_call_length": "max_duration",
    "callback_lifetime": "callback_expired_time",
}
# The create forms' names of model fields a refusal may name.
FORM_FIELD_OF = {"duration": "lifetime", "yb_duration": "yb_lifetime"}


# ---------------------------------------------------------------------------------------------
# Bindings
# ---------------------------------------------------------------------------------------------


@admin.register(Binding)
class BindingAdmin(ConsoleModelAdmin):
    """Bindings for customer service and administrators; real numbers always masked here."""

    list_display = [
        "id",
        "mode",
        "status_label",
        "party_a",
        "party_b",
        "x_and_more",
        "order_ref",
        "application_name",
        "created_at",
        "expires_at",
    ]
    list_display_links = ["id", "status_label"]
    list_filter = ["status", "mode", "application"]
    list_select_related = ["application"]
    # Searched by get_search_results below; listed so that the search box is shown.
    search_fields = ["order_ref"]
    search_help_text = _(
        "A, B, X or Y number in any form (138 0000 0001, +86-138…, 0755-2800 0001), "
        "an order reference or a subscriptionId."
    )
    ordering = ["-id"]
    sortable_by = ["id", "status_label"]  # the pk and (status, -id): no sort of the table
    list_per_page = 50
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["end_selected"]
    form = BindingModifyForm
    change_form_template = "admin/bindings/binding/change_form.html"
    change_list_template = "admin/bindings/binding/change_list.html"

    # --- list columns ---------------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj: Binding) -> str:
        return format_html(
            '<span class="binding-status binding-status-{}">{}</span>',
            obj.status,
            obj.get_status_display(),
        )

    @admin.display(description=_("A number"))
    def party_a(self, obj: Binding) -> str:
        return mask(obj.a_number)

    @admin.display(description=_("B number"))
    def party_b(self, obj: Binding) -> str:
        return mask(obj.b_number)

    @admin.display(description=_("E / Y"))
    def extension_or_y(self, obj: Binding) -> str:
        return obj.extension or obj.y_number

    @admin.display(description=_("lifetime"))
    def lifetime(self, obj: Binding) -> str:
        return humanized(obj.duration)

    @admin.display(description=_("Y–B lifetime"))
    def yb_lifetime(self, obj: Binding) -> str:
        return humanized(obj.yb_duration, none=gettext("as long as the binding"))

    @admin.display(description=_("callback record lifetime"))
    def callback_lifetime(self, obj: Binding) -> str:
        minutes = obj.callback_expired_time
        return humanized(minutes * 60 if minutes else None, none=gettext("the platform's default"))

    @admin.display(description=_("call direction"))
    def call_direction_shown(self, obj: Binding) -> str:
        return call_direction_label(obj.mode, obj.call_direction)

    @admin.display(description=_("maximum call length"))
    def max_call_length(self, obj: Binding) -> str:
        minutes = obj.max_duration
        return humanized(minutes * 60 if minutes else None, none=gettext("no limit"))

    @admin.display(description=_("X (E / Y)"))
    def x_and_more(self, obj: Binding) -> str:
        """X, and under it the AXE extension or the AXYB Y: one column, so the list fits."""
        second = obj.extension or obj.y_number
        if not second:
            return obj.x_number or "–"
        return format_html('{}<span class="list-second">{}</span>', obj.x_number or "–", second)

    @admin.display(description=_("application"), ordering="application")
    def application_name(self, obj: Binding) -> str:
        return obj.application.name  # the mode has its own column

    @admin.display(description=_("temporary callee"))
    def temporary_callee_masked(self, obj: Binding) -> str:
        if not obj.temporary_callee:
            return "–"
        until = obj.temporary_callee_expires_at
        when = f" ({gettext('until')} {until:%Y-%m-%d %H:%M})" if until else ""
        return mask(obj.temporary_callee) + when

    @admin.display(description=_("callback number"))
    def callback_num_masked(self, obj: Binding) -> str:
        return mask(obj.callback_num) or "–"

    @admin.display(description=_("last result"))
    def last_result(self, obj: Binding) -> str:
        if not obj.last_result_code:
            return "–"
        desc = f" – {obj.last_result_desc}" if obj.last_result_desc else ""
        shown = f"{obj.last_result_code}: {_meaning(obj.last_result_code)}{desc}"
        action = gateway.result_action(obj.last_result_code, get_language() or "zh-hans")
        if action:
            shown += " " + gettext("What to do: %(action)s") % {"action": action}
        return shown

    # --- search ---------------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        found = _number_search(queryset, term, ("a_number", "b_number", "x_number", "y_number"))
        if found is None:
            found = queryset.filter(Q(order_ref=term) | Q(subscription_id=term))
        return found, False

    # --- pages ----------------------------------------------------------------------------------

    def has_delete_permission(self, request, obj=None) -> bool:
        # Bindings are history (and hold pool counts): they end, they are never deleted.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("bindings.end_binding"):
            actions.pop("end_selected", None)
        return actions

    def _fieldsets(self, obj: Binding) -> list[tuple[Any, dict[str, Any]]]:
        parties = ["party_a", "party_b", "x_number", "y_number", "extension"]
        if obj.mode == Mode.AX:
            parties.append("temporary_callee_masked")
        if obj.mode == Mode.AXE:
            parties.append("callback_num_masked")
        settings_fields = [
            "lifetime",
            "expires_at",
            "call_direction_shown",
            "max_call_length",
            "last_min_voice",
            "record_flag",
            "record_hint_tone",
            "private_sms",
            "caller_hint_tone",
            "callee_hint_tone",
            "user_data",
        ]
        if obj.mode == Mode.AXYB:
            settings_fields[1:1] = ["yb_lifetime", "yb_expires_at"]
        if obj.mode == Mode.AXE:
            settings_fields += ["display_num_mode", "callback_tone", "callback_lifetime"]
        return [
            (
                None,
                {
                    "fields": [
                        "mode",
                        "status_label",
                        "application",
                        "order_ref",
                        "cost_tag",
                        "created_by",
                        "created_at",
                        "bound_at",
                        "ended_at",
                        "end_reason",
                        "note",
                    ]
                },
            ),
            (_("Parties"), {"fields": parties}),
            (_("Settings"), {"fields": settings_fields}),
            (
                _("Platform"),
                {
                    "fields": [
                        "subscription_id",
                        "yb_subscription_id",
                        "last_result",
                        "pending_changes",
                        "bind_attempts",
                        "area_code",
                        "area_match_mode",
                    ]
                },
            ),
        ]

    def _editable(self, request, obj: Binding | None) -> list[str]:
        if obj is None or obj.status != BindingStatus.ACTIVE:
            return []
        if not self.has_change_permission(request, obj):
            return []
        # Real numbers are never put back into a form field (it would show them in full).
        return [
            name
            for name in (*services.LOCAL_FIELDS.get(obj.mode, ()), *MODIFIABLE.get(obj.mode, ()))
            if name not in services.REVEALABLE
        ]

    def _shown(self, name: str, editable) -> bool:
        """A read-only line, unless its field (or the field it shows) is in the change form."""
        return name not in editable and READ_ONLY_FORM_OF.get(name) not in editable

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": []})]
        editable = self._editable(request, obj)
        fieldsets = []
        for name, options in self._fieldsets(obj):
            fields = [f for f in options["fields"] if self._shown(f, editable)]
            fieldsets.append((name, {**options, "fields": fields}))
        if editable:
            fieldsets.insert(
                1,
                (
                    _("Change (sent to the platform)"),
                    {
                        "fields": editable,
                        "description": _(
                            "Changes are sent to the platform by a background task; the page "
                            "shows them under “changes waiting for the platform” until it answers."
                        ),
                    },
                ),
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        editable = set(self._editable(request, obj))
        return [
            f
            for _name, options in self._fieldsets(obj)
            for f in options["fields"]
            if self._shown(f, editable)
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = self._editable(request, obj) if obj is not None else []
        form = super().get_form(request, obj, change=change, **kwargs)
        return form

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "duration":  # typed in minutes, as on the create forms
            return LifetimeField(
                help_text=_("From the successful bind; empty or 0: never expires."),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        """A change goes through the service (audited, sent to the platform), never a plain save."""
        if not change:
            raise PermissionDenied
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.modify_binding(
                Binding.objects.get(pk=obj.pk), changes, user=request.user, request=request
            )
        except services.BindingRefused as refusal:
            messages.error(request, refusal.message)

    def save_related(self, request, form, formsets, change):
        pass

    def log_change(self, request, obj, message):
        pass  # the audit log has the change (console.audit), with the address it came from

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._page_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _page_context(self, request, obj: Binding) -> dict[str, Any]:
        user = request.user
        parties = [
            (party, label)
            for party, label in (
                ("a_number", _("A number")),
                ("b_number", _("B number")),
                ("temporary_callee", _("temporary callee")),
                ("callback_num", _("callback number")),
            )
            if getattr(obj, party)
        ]
        return {
            "timeline": timeline.timeline(obj),
            "can_end": user.has_perm("bindings.end_binding") and obj.status == BindingStatus.ACTIVE,
            "can_sync": user.has_perm("bindings.end_binding")
            and obj.status == BindingStatus.ACTIVE,
            "can_reveal": services.can_reveal(user),
            "reveal_parties": parties,
            "callee_form": (
                TemporaryCalleeForm(prefix="callee")
                if obj.mode == Mode.AX
                and obj.status == BindingStatus.ACTIVE
                and user.has_perm("bindings.change_binding")
                else None
            ),
            "binding": obj,
        }

    # --- extra URLs -----------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("bulk/", wrap(self.bulk_create_view), name="bindings_binding_bulk"),
            path(
                "bulk/<int:job_id>/",
                wrap(self.bulk_progress_view),
                name="bindings_binding_bulk_progress",
            ),
            path("<int:pk>/end/", wrap(self.end_view), name="bindings_binding_end"),
            path("<int:pk>/sync/", wrap(self.sync_view), name="bindings_binding_sync"),
            path("<int:pk>/reveal/", wrap(self.reveal_view), name="bindings_binding_reveal"),
            path("<int:pk>/callee/", wrap(self.callee_view), name="bindings_binding_callee"),
        ]
        return own + super().get_urls()

    def _binding(self, request, pk: int) -> Binding:
        binding = get_object_or_404(Binding.objects.select_related("application"), pk=pk)
        if not self.has_view_permission(request, binding):
            raise PermissionDenied
        return binding

    def _back(self, binding: Binding) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:bindings_binding_change", args=[binding.pk]))

    @method_decorator(require_http_methods(["GET", "POST"]))
    def end_view(self, request, pk: int):
        binding = self._binding(request, pk)
        if not request.user.has_perm("bindings.end_binding"):
            raise PermissionDenied
        if not confirmed(request):
            return confirmation(
                request,
                title=gettext("End this binding?"),
                question=gettext(
                    "It is ended on the platform at once: its parties can no longer reach each "
                    "other through its numbers, which go back to the pool after their cool-down. "
                    "This cannot be undone."
                ),
                objects=[binding],
                confirm_label=gettext("Yes, end this binding"),
                back_url=reverse("admin:bindings_binding_change", args=[binding.pk]),
                context={**self.admin_site.each_context(request), "opts": self.opts},
            )
        try:
            services.end_binding(binding, user=request.user, request=request)
        except services.BindingRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, gettext("The binding is being ended on the platform."))
        return self._back(binding)

    @method_decorator(require_POST)
    def sync_view(self, request, pk: int):
        binding = self._binding(request, pk)
        if not request.user.has_perm("bindings.end_binding"):
            raise PermissionDenied
        services.request_sync(binding, user=request.user, request=request)
        messages.success(request, gettext("The platform is being asked about this binding."))
        return self._back(binding)

    @method_decorator(require_POST)
    @method_decorator(never_cache)
    def reveal_view(self, request, pk: int):
        binding = self._binding(request, pk)
        party = request.POST.get("party", "")
        try:
            number = services.reveal_number(binding, party, user=request.user, request=request)
        except services.BindingRefused as refusal:
            raise Http404(refusal.message) from None
        labels = {
            "a_number": _("A number"),
            "b_number": _("B number"),
            "temporary_callee": _("temporary callee"),
            "callback_num": _("callback number"),
        }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Full number"),
            "binding": binding,
            "label": labels[party],
            "number": number,
        }
        response = TemplateResponse(request, "admin/bindings/binding/reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @method_decorator(require_POST)
    def callee_view(self, request, pk: int):
        binding = self._binding(request, pk)
        if not request.user.has_perm("bindings.change_binding"):
            raise PermissionDenied
        form = TemporaryCalleeForm(request.POST, prefix="callee")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return self._back(binding)
        try:
            services.set_temporary_callee(
                binding,
                form.cleaned_data["callee"],
                duration=form.cleaned_data.get("duration"),
                user=request.user,
                request=request,
            )
        except services.BindingRefused as refusal:
            messages.error(request, refusal.message)
        except PlatformError as error:
            messages.error(
                request,
                gettext("The platform refused: %(code)s %(meaning)s")
                % {"code": error.code, "meaning": _meaning(error.code)},
            )
        else:
            messages.success(request, gettext("The temporary callee is set."))
        return self._back(binding)

    # --- create ---------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        chooser = ApplicationChoiceForm(request.GET or None)
        application = chooser.cleaned_data["application"] if chooser.is_valid() else None
        if application is None:
            choices = list(chooser.fields["application"].queryset)
            if len(choices) == 1:
                application = choices[0]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Add binding"),
            "chooser": chooser,
            "application": application,
            "has_view_permission": self.has_view_permission(request),
        }
        if application is None:
            return TemplateResponse(request, "admin/bindings/binding/add.html", context)
        form_class = form_for_mode(application.mode)
        form = form_class(request.POST or None, application=application)
        if request.method == "POST" and form.is_valid():
            try:
                binding = services.create_binding(
                    application, form.cleaned_data, user=request.user, request=request
                )
            except services.BindingRefused as refusal:
                field = FORM_FIELD_OF.get(refusal.field, refusal.field)
                form.add_error(field if field in form.fields else None, refusal.message)
            else:
                if binding.sending.queued is False:
                    jobs.told()
                    messages.warning(
                        request,
                        gettext(
                            "Binding %(binding)s is saved with X %(x)s, but the task queue cannot "
                            "be reached right now: it is sent to the platform on its own once the "
                            "queue is back."
                        )
                        % {"binding": binding.pk, "x": binding.x_number},
                    )
                else:
                    messages.success(
                        request,
                        gettext(
                            "Binding %(binding)s created; X is %(x)s. Waiting for the platform."
                        )
                        % {"binding": binding.pk, "x": binding.x_number},
                    )
                return HttpResponseRedirect(
                    reverse("admin:bindings_binding_change", args=[binding.pk])
                )
        context.update(
            form=form,
            adminform=helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
            mode=application.mode,
        )
        return TemplateResponse(request, "admin/bindings/binding/add.html", context)

    # --- bulk -----------------------------------------------------------------------------------

    def bulk_create_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BulkCreateForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and uploads.explain_refusal(request, form, "file"):
            pass  # cut off while it streamed in: the form says which limit it passed
        elif request.method == "POST" and form.is_valid():
            upload = request.FILES["file"]
            try:
                job = services.start_bulk_create(
                    form.cleaned_data["application"],
                    upload.name,
                    form.cleaned_data["file"],
                    user=request.user,
                    request=request,
                    language=get_language() or "",
                )
            except services.BindingRefused as refusal:
                form.add_error("file", refusal.message)
            else:
                return HttpResponseRedirect(
                    reverse("admin:bindings_binding_bulk_progress", args=[job.pk])
                )
        modes = [
            (mode, ", ".join(bulk_columns(mode)))
            for mode in (Mode.AXB, Mode.AX, Mode.AXE, Mode.AXYB)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Create bindings from a CSV file"),
            "form": form,
            "modes": modes,
            "jobs": BulkJob.objects.filter(created_by=request.user).select_related("application")[
                :10
            ],
        }
        return TemplateResponse(request, "admin/bindings/binding/bulk_create.html", context)

    def bulk_progress_view(self, request, job_id: int):
        if not self.has_add_permission(request):
            raise PermissionDenied
        job = get_object_or_404(BulkJob.objects.select_related("application"), pk=job_id)
        if not services.may_follow_bulk_job(request.user, job):
            raise Http404(gettext("No such bulk upload."))
        progress = services.bulk_progress(job)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Bulk upload #%(id)s") % {"id": job.pk},
            "job": job,
            "progress": progress,
            "progress_url": reverse("bindings:bulk-progress", args=[job.pk]),
            "statuses": [
                (value, label, progress["bindings"].get(value, 0))
                for value, label in BindingStatus.choices
            ],
        }
        return TemplateResponse(request, "admin/bindings/binding/bulk_progress.html", context)

    # --- actions --------------------------------------------------------------------------------

    @admin.action(description=_("End selected bindings"))
    def end_selected(self, request, queryset):
        if not request.user.has_perm("bindings.end_binding"):
            raise PermissionDenied
        if not confirmed(request):
            return confirm_admin_action(
                self,
                request,
                queryset,
                question=gettext(
                    "These bindings are ended on the platform at once: their parties can no "
                    "longer reach each other through their numbers. This cannot be undone."
                ),
                confirm_label=gettext("Yes, end these bindings"),
            )
        ending, skipped = services.end_bindings(queryset, user=request.user, request=request)
        self.message_user(
            request,
            gettext("%(ending)s binding(s) are being ended; %(skipped)s were not active.")
            % {"ending": ending, "skipped": skipped},
            messages.SUCCESS if ending else messages.WARNING,
        )


# ---------------------------------------------------------------------------------------------
# X numbers (administrators)
# ---------------------------------------------------------------------------------------------


class XNumberImportForm(forms.Form):
    """The X-number import: the application, the file and its format (``services.IMPORT_FORMATS``,
    posted by position: 0 is CSV)."""

    application = forms.ModelChoiceField(
        label=_("Application"), queryset=Application.objects.exclude(mode=Mode.X)
    )
    format = forms.TypedChoiceField(
        label=_("Format"),
        choices=list(enumerate(services.IMPORT_FORMATS)),
        coerce=int,
    )
    import_file = forms.FileField(label=_("File to import"))


@admin.register(XNumber)
class XNumberAdmin(ConsoleModelAdmin):
    """The pool: numbers per application and city, their platform status and live counts."""

    list_display = [
        "number",
        "application",
        "city_name",
        "state",
        "platform_status",
        "platform_cause",
        "binding_count",
        "y_binding_count",
        "cooling_until",
    ]
    # No filter by city: Django's lists the cities present with SELECT DISTINCT over the pool;
    # the search box takes a city code instead.
    list_filter = ["application", "state", "platform_status"]
    list_select_related = ["application"]
    search_fields = ["number"]
    search_help_text = _("A number in any form, or a city code.")
    ordering = ["number"]  # its unique index; the model's (application, city, number) has none
    sortable_by = ["number"]
    show_full_result_count = False
    paginator = LargeTablePaginator

    @admin.display(description=_("city"))
    def city_name(self, number: XNumber) -> str:
        name = cities.name_of(number.city_code) or number.province
        return f"{name} ({number.city_code})" if name else number.city_code

    readonly_fields = [
        "province",
        "state",
        "platform_status",
        "platform_cause",
        "platform_status_at",
        "binding_count",
        "y_binding_count",
        "cooling_until",
        "created_at",
        "updated_at",
    ]
    actions = ["retire", "reinstate", "reconcile"]
    change_list_template = "admin/bindings/xnumber/change_list.html"

    def get_fields(self, request, obj=None):
        editable = ["number", "application", "city_code"] if obj is None else ["city_code"]
        return [*editable, *[f for f in self.readonly_fields if obj is not None]]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, *(["number", "application"] if obj else [])]

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        found = _number_search(queryset, term, ("number",))
        if found is None:
            found = queryset.filter(city_code=term)
        return found, False

    def save_model(self, request, obj, form, change):
        from bindings.cities import province_of

        obj.province = province_of(obj.city_code)
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.MODIFY if change else AuditAction.CREATE,
            obj,
            request=request,
            details={"fields": form.changed_data},
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return form

    # --- pool usage -----------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("usage/", wrap(self.usage_view), name="bindings_xnumber_usage"),
            path(
                "usage/count/<int:application_id>/",
                wrap(self.count_view),
                name="bindings_xnumber_usage_count",
            ),
            path("import/", wrap(self.import_action), name="bindings_xnumber_import"),
            path(
                "import/<int:job_id>/",
                wrap(self.import_job_view),
                name="bindings_xnumber_import_job",
            ),
            path(
                "import/<int:job_id>/confirm/",
                wrap(self.import_confirm_view),
                name="bindings_xnumber_import_confirm",
            ),
        ]
        return [*own, *super().get_urls()]

    def usage_view(self, request):
        """Numbers by state and bindings against capacity, per application and city."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Pool usage by city"),
            "rows": pool.usage(),
        }
        return TemplateResponse(request, "admin/bindings/xnumber/usage.html", context)

    def count_view(self, request, application_id: int):
        """POST: ask the platform for an AXE application's binding counts (a task does it)."""
        from bindings.tasks import count_axe_bindings_task

        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        application = get_object_or_404(Application, pk=application_id, mode=Mode.AXE)
        count_axe_bindings_task.delay(application.pk)
        messages.info(
            request,
            gettext(
                "The platform is being asked how many bindings each X of %(application)s "
                "carries; reload this page in a moment."
            )
            % {"application": application.name},
        )
        return redirect("admin:bindings_xnumber_usage")

    # --- import ---------------------------------------------------------------------------------
    # The upload form; the file is then checked and imported by Celery tasks
    # (services.start_number_import, bindings.number_import), and the job's page follows them.

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm("bindings.add_xnumber") and request.user.has_perm(
            "bindings.add_numberimport"
        )

    def import_action(self, request, **kwargs):
        """Upload: a bad file is refused on the form at once; a good one becomes a job."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = XNumberImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and uploads.explain_refusal(request, form, "import_file"):
            pass  # cut off while it streamed in: the form says which limit it passed
        elif request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["import_file"]
            file_format = services.IMPORT_FORMATS[form.cleaned_data["format"]]
            try:
                services.check_import_size(upload.size)  # before reading it into memory
                job = services.start_number_import(
                    form.cleaned_data["application"],
                    upload.name,
                    file_format,
                    upload.read(),
                    user=request.user,
                    language=get_language() or "",
                )
            except services.ImportRefused as refusal:
                form.add_error("import_file", refusal.message)
            else:
                return HttpResponseRedirect(
                    reverse("admin:bindings_xnumber_import_job", args=[job.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import"),
            "form": form,
            "opts": self.opts,
            "columns": services.IMPORT_COLUMNS,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/bindings/xnumber/import.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def _import_job(self, request, job_id: int) -> NumberImport:
        if not request.user.has_perm("bindings.view_numberimport"):
            raise PermissionDenied
        return get_object_or_404(
            NumberImport.objects.select_related("application", "created_by").defer("source"),
            pk=job_id,
        )

    def import_job_view(self, request, job_id: int):
        """The job's page: progress of the validation, the preview, Confirm, the import."""
        job = self._import_job(request, job_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import of X numbers #%(id)s") % {"id": job.pk},
            "job": job,
            "progress": services.number_import_progress(job),
            "progress_url": reverse("bindings:import-progress", args=[job.pk]),
            "may_confirm": request.user.has_perm("bindings.add_xnumber"),
            "numbers_url": reverse("admin:bindings_xnumber_changelist")
            + f"?application__id__exact={job.application_id}",
        }
        return TemplateResponse(request, "admin/bindings/xnumber/import_job.html", context)

    @method_decorator(require_POST)
    def import_confirm_view(self, request, job_id: int):
        job = self._import_job(request, job_id)
        if not request.user.has_perm("bindings.add_xnumber"):
            raise PermissionDenied
        if not services.confirm_number_import(job, user=request.user, request=request):
            messages.warning(
                request, gettext("This import was already confirmed, or has nothing to import.")
            )
        return HttpResponseRedirect(reverse("admin:bindings_xnumber_import_job", args=[job.pk]))

    # --- actions --------------------------------------------------------------------------------

    @admin.action(description=_("Retire selected numbers"), permissions=["change"])
    def retire(self, request, queryset):
        if not confirmed(request):
            return confirm_admin_action(
                self,
                request,
                queryset,
                question=gettext(
                    "Retired numbers take no new binding; the bindings they carry keep working "
                    "until they end. They can be put back into the pool later."
                ),
                confirm_label=gettext("Yes, retire these numbers"),
            )
        changed = services.retire_numbers(queryset, user=request.user, request=request)
        self.message_user(request, gettext("%(n)s number(s) retired.") % {"n": changed})

    @admin.action(description=_("Put selected numbers back into the pool"), permissions=["change"])
    def reinstate(self, request, queryset):
        changed = services.reinstate_numbers(queryset, user=request.user, request=request)
        self.message_user(request, gettext("%(n)s number(s) back in the pool.") % {"n": changed})

    @admin.action(
        description=_("Reconcile the bindings on selected numbers with the platform"),
        permissions=["change"],
    )
    def reconcile(self, request, queryset):
        by_application: dict[int, list[int]] = {}
        for number_id, application_id in queryset.values_list("pk", "application_id"):
            by_application.setdefault(application_id, []).append(number_id)
        runs = [
            services.start_reconcile(
                Application.objects.get(pk=application_id), ids, user=request.user, request=request
            )
            for application_id, ids in by_application.items()
        ]
        if len(runs) == 1:
            # One application: its page follows the progress.
            return HttpResponseRedirect(
                reverse("admin:bindings_reconciliation_change", args=[runs[0].pk])
            )
        self.message_user(
            request,
            gettext(
                "Reconciliation queued for %(n)s number(s); the result appears under "
                "Reconciliations."
            )
            % {"n": sum(len(ids) for ids in by_application.values())},
        )


# ---------------------------------------------------------------------------------------------
# Reconciliations (administrators, read-only)
# ---------------------------------------------------------------------------------------------


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    """What each comparison with the platform found and repaired."""

    list_display = [
        "started_at",
        "application",
        "numbers_checked",
        "platform_bindings",
        "matched",
        "lost",
        "unknown",
        "failures",
        "triggered_by",
        "finished_at",
    ]
    list_filter = ["application"]
    list_select_related = ["application", "triggered_by"]
    ordering = ["-started_at", "-id"]
    sortable_by = ["started_at"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    fields = [
        "application",
        "started_at",
        "finished_at",
        "triggered_by",
        "numbers_checked",
        "platform_bindings",
        "matched",
        "lost",
        "unknown",
        "failures",
        "unknown_table",
        "lost_links",
        "failure_list",
    ]
    readonly_fields = fields
    change_form_template = "admin/bindings/reconciliation/change_form.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                progress=services.reconcile_progress(obj),
                progress_url=reverse("bindings:reconcile-progress", args=[obj.pk]),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("on the platform only"))
    def unknown_table(self, obj: Reconciliation) -> str:
        rows = obj.details.get("unknown", [])
        if not rows:
            return "–"
        from django.utils.html import format_html_join

        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    r.get("subscriptionId"),
                    r.get("a"),
                    r.get("b"),
                    r.get("x"),
                    r.get("y"),
                    r.get("e"),
                    r.get("here", ""),
                )
                for r in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>subscriptionId</th><th>A</th><th>B</th><th>X</th><th>Y</th>"
            "<th>E</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            gettext("status here"),
            body,
        )

    @admin.display(description=_("ended here (lost on the platform)"))
    def lost_links(self, obj: Reconciliation) -> str:
        from django.utils.html import format_html_join

        ids = obj.details.get("lost", [])
        if not ids:
            return "–"
        return format_html_join(
            " ",
            '<a href="{}">#{}</a>',
            ((reverse("admin:bindings_binding_change", args=[i]), i) for i in ids),
        )

    @admin.display(description=_("numbers that could not be queried"))
    def failure_list(self, obj: Reconciliation) -> str:
        failures = obj.details.get("failures", [])
        return ", ".join(f"{f['number']} ({f['code']})" for f in failures) or "–"


@admin.register(NumberImport)
class NumberImportAdmin(ReadOnlyAdmin):
    """Every X-number import: who uploaded what, what was refused and imported."""

    list_display = [
        "id",
        "created_at",
        "application",
        "file_name",
        "state",
        "total",
        "new_count",
        "refused_count",
        "imported_count",
        "created_by",
        "confirmed_by",
        "page",
    ]
    list_filter = ["state", "application"]
    list_select_related = ["application", "created_by", "confirmed_by"]
    ordering = ["-created_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("source", "errors")

    @admin.display(description=_("progress and preview"))
    def page(self, obj: NumberImport) -> str:
        url = reverse("admin:bindings_xnumber_import_job", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Open"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The job's own page (progress, preview, confirm) is its page.
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not str(object_id).isdigit() or len(str(object_id)) > 18:
            raise Http404
        return HttpResponseRedirect(
            reverse("admin:bindings_xnumber_import_job", args=[int(object_id)])
        )
