"""Console pages of the safeguards (issue 16): the tone-file catalog of each application, and
the imports of the blacklist and of the A-number register (报备). Editing one row is the
admin's (``bindings.admin``); the rules are ``bindings.services.safeguards``'."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from bindings import modes, uploads
from bindings.choices import ReviewState
from bindings.models import VoiceFile
from bindings.services import safeguards
from console import audit
from console.choices import AuditAction
from console.models import Application
from console.pages import ConsolePage
from console.uploads import explain_refusal

FORMATS = [("csv", "CSV"), ("xlsx", "XLSX")]


class VoiceFileForm(forms.ModelForm):
    """A tone file Huawei holds for an application, entered by hand."""

    class Meta:
        model = VoiceFile
        fields = ["application", "name", "purpose", "review_state", "is_default", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = Application.objects.filter(mode__in=modes.NAMES)


class VoiceFileListView(ConsolePage, TemplateView):
    """``/bindings/tones/``: the catalog by application and purpose; add a file, approve or
    reject one (the binding forms offer only approved files)."""

    permission_required = "bindings.view_voicefile"
    template_name = "bindings/voice_files.html"
    title = _("Tone files")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            files=VoiceFile.objects.select_related("application").order_by(
                "application__name", "purpose", "name"
            ),
            form=kwargs.get("form") or VoiceFileForm(),
            can_change=self.request.user.has_perm("bindings.change_voicefile"),
            review_states=ReviewState.choices,
        )
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("bindings.change_voicefile"):
            return self.handle_no_permission()
        if "review" in request.POST:  # one file's review state
            state = request.POST.get("review")
            found = VoiceFile.objects.filter(pk=request.POST.get("file")).first()
            if found is not None and state in ReviewState.values:
                found.review_state = state
                found.save(update_fields=["review_state", "updated_at"])
                audit.record(AuditAction.MODIFY, found, request=request, details={"review": state})
            return HttpResponseRedirect(reverse("bindings:voice-files"))
        form = VoiceFileForm(request.POST)
        if form.is_valid():
            created = form.save()
            audit.record(AuditAction.CREATE, created, request=request)
            messages.success(request, gettext("Tone file %(name)s added.") % {"name": created})
            return HttpResponseRedirect(reverse("bindings:voice-files"))
        return self.render_to_response(self.get_context_data(form=form))


class SafeguardImportForm(forms.Form):
    """A CSV or XLSX file for the blacklist or the A-number register."""

    application = forms.ModelChoiceField(
        label=_("Application"),
        queryset=Application.objects.filter(mode__in=modes.NAMES),
        required=False,
    )
    format = forms.ChoiceField(label=_("Format"), choices=FORMATS)
    import_file = forms.FileField(label=_("File to import"))


class _ImportView(ConsolePage, TemplateView):
    template_name = "bindings/safeguard_import.html"
    columns = ""
    application_required = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(form=kwargs.get("form") or SafeguardImportForm(), columns=self.columns)
        context.update(result=kwargs.get("result"))
        return context

    def post(self, request, *args, **kwargs):
        form = SafeguardImportForm(request.POST, request.FILES)
        result = None
        if explain_refusal(request, form, "import_file"):
            pass  # cut off while it streamed in
        elif form.is_valid():
            application = form.cleaned_data["application"]
            if application is None and self.application_required:
                form.add_error("application", gettext("Choose the application."))
            else:
                upload = form.cleaned_data["import_file"]
                try:
                    uploads.check_size(upload.size, uploads.Limits.number_import())
                    result = self.run(form.cleaned_data["format"], upload.read(), application)
                except uploads.UploadRefused as refusal:
                    form.add_error("import_file", refusal.message)
        return self.render_to_response(self.get_context_data(form=form, result=result))


class BlacklistImportView(_ImportView):
    """``/bindings/blacklist/import/``: numbers to refuse, with reason and expiry; one audit row
    per entry. No application: every application."""

    permission_required = "bindings.add_blacklistentry"
    title = _("Import the blacklist")
    columns = "number, reason, expires"
    application_required = False

    def run(self, file_format, content, application):
        return safeguards.import_blacklist(
            file_format, content, application=application, user=self.request.user
        )


class RegistrationImportView(_ImportView):
    """``/bindings/registrations/import/``: A numbers and their registration state (报备)."""

    permission_required = (
        "bindings.add_anumberregistration",
        "bindings.change_anumberregistration",
    )
    title = _("Import A-number registrations")
    columns = "number, state, note"

    def run(self, file_format, content, application):
        return safeguards.import_registrations(
            file_format, content, application=application, user=self.request.user
        )
