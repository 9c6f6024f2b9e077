"""The bindings list, a binding's page, and what customer service and administrators do there.

A binding's page shows the lines its mode has (read from the mode table), its timeline, the actions
the person's role allows (end, check with the platform, reveal a number, the AX temporary callee)
and, for administrators of an active binding, the fields its mode can change. Real numbers are
masked everywhere; a reveal is one audited POST for one number.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.forms import modelform_factory
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator

from bindings import modes, services, timeline
from bindings.choices import BindingStatus
from bindings.filters import BindingFilterSet
from bindings.forms import (
    ApplicationChoiceForm,
    BindingModifyForm,
    LifetimeField,
    TemporaryCalleeForm,
    form_for_mode,
)
from bindings.models import Binding
from bindings.tables import BindingTable
from console import jobs, privacy
from console.confirm import confirmation, confirmed
from console.durations import humanized
from console.numbers import mask
from console.pages import ConsolePage
from privatenumber.errors import PlatformError

PER_PAGE = 50
LIST_COLUMNS = (
    "id",
    "mode",
    "status",
    "a_number",
    "b_number",
    "x_number",
    "y_number",
    "extension",
    "order_ref",
    "application__name",
    "created_at",
    "expires_at",
)
# The labels of the numbers a person may ask to see in full.
PARTY_LABELS = {
    "a_number": _("A number"),
    "b_number": _("B number"),
    "temporary_callee": _("temporary callee"),
    "callback_num": _("callback number"),
}


def _meaning(code: str) -> str:
    return services.result_meaning(code, get_language() or "zh-hans")


def _when(value) -> str:
    return localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


class BindingListView(ConsolePage, SingleTableMixin, FilterView):
    """``/bindings/``: every binding, newest first, filtered and searched without a count."""

    permission_required = "bindings.view_binding"
    title = _("Bindings")
    template_name = "bindings/binding_list.html"
    table_class = BindingTable
    filterset_class = BindingFilterSet
    table_pagination = {"paginator_class": LazyPaginator, "per_page": PER_PAGE}

    def get_queryset(self):
        return Binding.objects.select_related("application").only(*LIST_COLUMNS)

    def get_table_kwargs(self):
        if self.request.user.has_perm("bindings.end_binding"):
            return {}
        return {"exclude": ("selected",)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            can_end=user.has_perm("bindings.end_binding"),
            can_add=user.has_perm("bindings.add_binding"),
        )
        return context


class EndSelectedView(ConsolePage, TemplateView):
    """POST ``/bindings/end/``: end the bindings ticked on the list, once confirmed."""

    permission_required = "bindings.end_binding"
    http_method_names = ["post"]
    title = _("Are you sure?")

    def post(self, request, *args, **kwargs):
        ids = [int(v) for v in request.POST.getlist("selected") if v.isdigit() and len(v) <= 18]
        back = reverse("bindings:list")
        if not ids:
            messages.warning(request, gettext("Choose the bindings to end first."))
            return HttpResponseRedirect(back)
        chosen = Binding.objects.filter(pk__in=ids).order_by("-id")
        if not confirmed(request):
            return confirmation(
                request,
                title=str(self.title),
                question=gettext(
                    "These bindings are ended on the platform at once: their parties can no "
                    "longer reach each other through their numbers. This cannot be undone."
                ),
                objects=chosen,
                confirm_label=gettext("Yes, end these bindings"),
                hidden=[("selected", str(pk)) for pk in ids],
                back_url=back,
                context=self.get_context_data(),
            )
        ending, skipped = services.end_bindings(chosen, user=request.user, request=request)
        level = messages.SUCCESS if ending else messages.WARNING
        messages.add_message(
            request,
            level,
            gettext("%(ending)s binding(s) are being ended; %(skipped)s were not active.")
            % {"ending": ending, "skipped": skipped},
        )
        return HttpResponseRedirect(back)


# ---------------------------------------------------------------------------------------------
# A binding's page
# ---------------------------------------------------------------------------------------------


def _label(name: str) -> str:
    return Binding._meta.get_field(name).verbose_name


def _yes_no(value: bool) -> str:
    return gettext("Yes") if value else gettext("No")


def _last_result(binding: Binding) -> str:
    if not binding.last_result_code:
        return "—"
    desc = f" – {binding.last_result_desc}" if binding.last_result_desc else ""
    shown = f"{binding.last_result_code}: {_meaning(binding.last_result_code)}{desc}"
    action = services.result_action(binding.last_result_code, get_language() or "zh-hans")
    if action:
        shown += " " + gettext("What to do: %(action)s") % {"action": action}
    return shown


def _temporary_callee(binding: Binding) -> str:
    if not binding.temporary_callee:
        return "—"
    until = binding.temporary_callee_expires_at
    when = f" ({gettext('until')} {_when(until)})" if until else ""
    return mask(binding.temporary_callee) + when


def _minutes(minutes: int | None, none: str) -> str:
    return humanized(minutes * 60 if minutes else None, none=none)


def facts(binding: Binding, editable: list[str]) -> list[tuple[Any, list[tuple[Any, Any]]]]:
    """The lines of a binding's page, by section: those of its mode (the mode table), real
    numbers masked; a line whose field is in the change form is left out."""
    mode = modes.of(binding.mode)
    has = mode.has

    def shown(field: str, *, when: bool = True) -> bool:
        return when and field not in editable

    status = format_html(
        '<span class="binding-status binding-status-{}">{}</span>',
        binding.status,
        binding.get_status_display(),
    )
    general = [
        (_label("mode"), binding.mode),
        (_label("status"), status),
        (_label("application"), binding.application.name),
        (_label("order_ref"), binding.order_ref or "—"),
        (_label("created_by"), binding.created_by or "—"),
        (_label("created_at"), _when(binding.created_at)),
        (_label("bound_at"), _when(binding.bound_at)),
        (_label("ended_at"), _when(binding.ended_at)),
        (_label("end_reason"), binding.get_end_reason_display() or "—"),
        (_label("note"), binding.note or "—"),
    ]
    if "order_ref" in editable:
        del general[3]
    parties = [
        (label, value)
        for label, value, ok in (
            (_label("a_number"), mask(binding.a_number), True),
            (_label("b_number"), mask(binding.b_number), mode.needs_b),
            (_label("x_number"), binding.x_number or "—", True),
            (_label("y_number"), binding.y_number or "—", mode.has_y),
            (_label("extension"), binding.extension or "—", mode.extensions),
            (_("temporary callee"), _temporary_callee(binding), mode.temporary_callee),
            (_("callback number"), mask(binding.callback_num) or "—", has("callback_num")),
        )
        if ok
    ]
    lines = [
        ("duration", _("lifetime"), humanized(binding.duration), True),
        ("expires_at", _label("expires_at"), _when(binding.expires_at), True),
        (
            "yb_duration",
            _("Y–B lifetime"),
            humanized(binding.yb_duration, none=gettext("as long as the binding")),
            has("yb_duration"),
        ),
        (
            "yb_expires_at",
            _label("yb_expires_at"),
            _when(binding.yb_expires_at),
            has("yb_duration"),
        ),
        (
            "call_direction",
            _("call direction"),
            mode.call_direction_label(binding.call_direction),
            has("call_direction"),
        ),
        (
            "max_duration",
            _("maximum call length"),
            _minutes(binding.max_duration, gettext("no limit")),
            has("max_duration"),
        ),
        ("last_min_voice", _label("last_min_voice"), binding.last_min_voice, has("last_min_voice")),
        ("record_flag", _label("record_flag"), _yes_no(binding.record_flag), True),
        ("record_hint_tone", _label("record_hint_tone"), binding.record_hint_tone, True),
        ("private_sms", _label("private_sms"), _yes_no(binding.private_sms), has("private_sms")),
        (
            "caller_hint_tone",
            _label("caller_hint_tone"),
            binding.caller_hint_tone,
            has("caller_hint_tone"),
        ),
        (
            "callee_hint_tone",
            _label("callee_hint_tone"),
            binding.callee_hint_tone,
            has("callee_hint_tone"),
        ),
        ("user_data", _label("user_data"), binding.user_data, True),
        (
            "display_num_mode",
            _label("display_num_mode"),
            binding.display_num_mode,
            has("display_num_mode"),
        ),
        ("callback_tone", _label("callback_tone"), binding.callback_tone, has("callback_tone")),
        (
            "callback_expired_time",
            _("callback record lifetime"),
            _minutes(binding.callback_expired_time, gettext("the platform's default")),
            has("callback_expired_time"),
        ),
    ]
    settings = [(label, value or "—") for name, label, value, ok in lines if shown(name, when=ok)]
    platform = [
        (_label("subscription_id"), binding.subscription_id or "—"),
        *(
            [(_label("yb_subscription_id"), binding.yb_subscription_id or "—")]
            if mode.two_steps
            else []
        ),
        (_("last result"), _last_result(binding)),
        (_label("pending_changes"), binding.pending_changes or "—"),
        (_label("bind_attempts"), binding.bind_attempts),
        (_label("area_code"), binding.area_code or "—"),
        (_label("area_match_mode"), binding.get_area_match_mode_display()),
    ]
    return [
        (None, general),
        (_("Parties"), parties),
        (_("Settings"), settings),
        (_("Platform"), platform),
    ]


def editable_fields(user, binding: Binding) -> list[str]:
    """The fields this person may change on this binding now (none unless it is active)."""
    if binding.status != BindingStatus.ACTIVE or not user.has_perm("bindings.change_binding"):
        return []
    # Real numbers are never put back into a form field (it would show them in full).
    return [name for name in modes.of(binding.mode).changeable if name not in services.REVEALABLE]


def _form_field(db_field, **kwargs):
    if db_field.name == "duration":  # typed in minutes, as on the create forms
        return LifetimeField(help_text=_("From the successful bind; empty or 0: never expires."))
    return db_field.formfield(**kwargs)


def modify_form(user, binding: Binding, data=None):
    """The change form of an active binding (None when the person may change nothing)."""
    fields = editable_fields(user, binding)
    if not fields:
        return None
    form_class = modelform_factory(
        Binding, form=BindingModifyForm, fields=fields, formfield_callback=_form_field
    )
    return form_class(data, instance=binding)


class BindingMixin:
    """A binding of the URL, with its application (404 when there is none)."""

    def get_binding(self) -> Binding:
        return get_object_or_404(
            Binding.objects.select_related("application", "created_by", "x", "y"),
            pk=self.kwargs["pk"],
        )

    def back(self, binding: Binding) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("bindings:binding", args=[binding.pk]))


class BindingView(BindingMixin, ConsolePage, TemplateView):
    """``/bindings/<id>/``: a binding, its timeline and the actions on it; POST changes it."""

    permission_required = "bindings.view_binding"
    template_name = "bindings/binding_detail.html"
    form = None

    def has_permission(self) -> bool:
        if self.request.method == "POST":
            return self.request.user.has_perm("bindings.change_binding")
        return super().has_permission()

    def get_context_data(self, **kwargs):
        binding = kwargs.pop("binding", None) or self.get_binding()
        context = super().get_context_data(**kwargs)
        user = self.request.user
        mode = modes.of(binding.mode)
        active = binding.status == BindingStatus.ACTIVE
        form = self.form or modify_form(user, binding)
        context.update(
            title=str(binding),
            binding=binding,
            sections=facts(binding, list(form.fields) if form is not None else []),
            form=form,
            timeline=timeline.timeline(binding),
            can_end=user.has_perm("bindings.end_binding") and active,
            can_sync=user.has_perm("bindings.end_binding") and active,
            can_reveal=services.can_reveal(user),
            reveal_parties=[
                (party, label) for party, label in PARTY_LABELS.items() if getattr(binding, party)
            ],
            callee_form=(
                TemporaryCalleeForm(prefix="callee")
                if mode.temporary_callee and active and user.has_perm("bindings.change_binding")
                else None
            ),
        )
        return context

    def post(self, request, *args, **kwargs):
        """A change goes through the service (audited, sent to the platform), never a save."""
        binding = self.get_binding()
        form = modify_form(request.user, binding, request.POST)
        if form is None:
            messages.error(request, services.base.not_active(binding).message)
            return self.back(binding)
        if not form.is_valid():
            self.form = form
            return self.render_to_response(self.get_context_data(binding=binding))
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.modify_binding(
                Binding.objects.get(pk=binding.pk), changes, user=request.user, request=request
            )
        except services.BindingRefused as refusal:
            messages.error(request, refusal.message)
        else:
            if changes:
                messages.success(request, gettext("The changes are saved."))
        return self.back(binding)


class EndBindingView(BindingMixin, ConsolePage, TemplateView):
    """``/bindings/<id>/end/``: asks first (GET, or a POST without the confirmation), then ends."""

    permission_required = ("bindings.view_binding", "bindings.end_binding")
    http_method_names = ["get", "post"]
    title = _("End this binding?")

    def get(self, request, *args, **kwargs):
        binding = self.get_binding()
        return confirmation(
            request,
            title=str(self.title),
            question=gettext(
                "It is ended on the platform at once: its parties can no longer reach each "
                "other through its numbers, which go back to the pool after their cool-down. "
                "This cannot be undone."
            ),
            objects=[binding],
            confirm_label=gettext("Yes, end this binding"),
            back_url=reverse("bindings:binding", args=[binding.pk]),
            context=self.get_context_data(),
        )

    def post(self, request, *args, **kwargs):
        if not confirmed(request):
            return self.get(request, *args, **kwargs)
        binding = self.get_binding()
        try:
            services.end_binding(binding, user=request.user, request=request)
        except services.BindingRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, gettext("The binding is being ended on the platform."))
        return self.back(binding)


class SyncView(BindingMixin, ConsolePage, TemplateView):
    """POST ``/bindings/<id>/sync/``: ask the platform about this binding (a task does)."""

    permission_required = ("bindings.view_binding", "bindings.end_binding")
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        binding = self.get_binding()
        services.request_sync(binding, user=request.user, request=request)
        messages.success(request, gettext("The platform is being asked about this binding."))
        return self.back(binding)


class RevealView(BindingMixin, ConsolePage, TemplateView):
    """POST ``/bindings/<id>/reveal/``: one number of the binding in full, for a role allowed to
    see it; every reveal is audited and the answer is never stored by the browser."""

    permission_required = ("bindings.view_binding", privacy.PERMISSION)
    http_method_names = ["post"]
    template_name = "bindings/reveal.html"
    title = _("Full number")

    def post(self, request, *args, **kwargs):
        binding = self.get_binding()
        party = request.POST.get("party", "")
        try:
            number = services.reveal_number(binding, party, user=request.user, request=request)
        except services.BindingRefused as refusal:
            raise Http404(refusal.message) from None
        context = self.get_context_data(binding=binding, label=PARTY_LABELS[party], number=number)
        response = TemplateResponse(request, self.template_name, context)
        response["Cache-Control"] = "no-store"
        return response


class CalleeView(BindingMixin, ConsolePage, TemplateView):
    """POST ``/bindings/<id>/callee/``: the AX temporary callee, sent to the platform at once."""

    permission_required = ("bindings.view_binding", "bindings.change_binding")
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        binding = self.get_binding()
        form = TemporaryCalleeForm(request.POST, prefix="callee")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return self.back(binding)
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
        return self.back(binding)


# ---------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------


class BindingCreateView(ConsolePage, TemplateView):
    """``/bindings/add/?application=<id>``: the application first, then the form of its mode."""

    permission_required = "bindings.add_binding"
    template_name = "bindings/binding_add.html"
    title = _("Add binding")

    def application(self, chooser: ApplicationChoiceForm):
        if chooser.is_valid():
            return chooser.cleaned_data["application"]
        choices = list(chooser.fields["application"].queryset[:2])
        return choices[0] if len(choices) == 1 else None

    def get(self, request, *args, **kwargs):
        return self.respond(request)

    def post(self, request, *args, **kwargs):
        return self.respond(request)

    def respond(self, request):
        chooser = ApplicationChoiceForm(request.GET or None)
        application = self.application(chooser)
        context = self.get_context_data(chooser=chooser, application=application)
        if application is None:
            return self.render_to_response(context)
        form = form_for_mode(application.mode)(request.POST or None, application=application)
        if request.method == "POST" and form.is_valid():
            try:
                binding = services.create_binding(
                    application, form.cleaned_data, user=request.user, request=request
                )
            except services.BindingRefused as refusal:
                field = modes.FORM_NAMES.get(refusal.field, refusal.field)
                form.add_error(field if field in form.fields else None, refusal.message)
            else:
                self.tell(request, binding)
                return HttpResponseRedirect(reverse("bindings:binding", args=[binding.pk]))
        context.update(form=form, mode=application.mode)
        return self.render_to_response(context)

    @staticmethod
    def tell(request, binding: Binding) -> None:
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
                gettext("Binding %(binding)s created; X is %(x)s. Waiting for the platform.")
                % {"binding": binding.pk, "x": binding.x_number},
            )
        for warning in getattr(binding, "warnings", ()):
            messages.warning(request, warning)
