"""URLs of the bindings pages (included under /bindings/)."""

from __future__ import annotations

from django.urls import path

from bindings.views import bindings, jobs, numbers, safeguards

app_name = "bindings"

urlpatterns = [
    path("", bindings.BindingListView.as_view(), name="list"),
    path("tones/", safeguards.VoiceFileListView.as_view(), name="voice-files"),
    path("blacklist/import/", safeguards.BlacklistImportView.as_view(), name="blacklist-import"),
    path(
        "registrations/import/",
        safeguards.RegistrationImportView.as_view(),
        name="registration-import",
    ),
    path("add/", bindings.BindingCreateView.as_view(), name="add"),
    path("end/", bindings.EndSelectedView.as_view(), name="end-selected"),
    path("<int:pk>/", bindings.BindingView.as_view(), name="binding"),
    path("<int:pk>/end/", bindings.EndBindingView.as_view(), name="end"),
    path("<int:pk>/sync/", bindings.SyncView.as_view(), name="sync"),
    path("<int:pk>/reveal/", bindings.RevealView.as_view(), name="reveal"),
    path("<int:pk>/callee/", bindings.CalleeView.as_view(), name="callee"),
    path("bulk/", jobs.BulkCreateView.as_view(), name="bulk"),
    path("bulk/<int:pk>/", jobs.BulkJobView.as_view(), name="bulk-job"),
    path("bulk/<int:pk>/progress", jobs.bulk_progress, name="bulk-progress"),
    path("numbers/", numbers.XNumberListView.as_view(), name="numbers"),
    path("numbers/action/", numbers.NumberActionView.as_view(), name="number-action"),
    path("numbers/usage/", numbers.PoolUsageView.as_view(), name="usage"),
    path(
        "numbers/usage/count/<int:application_id>/",
        numbers.CountView.as_view(),
        name="usage-count",
    ),
    path("numbers/import/", jobs.NumberImportView.as_view(), name="import"),
    path("numbers/imports/", jobs.NumberImportListView.as_view(), name="imports"),
    path("numbers/import/<int:pk>/", jobs.NumberImportJobView.as_view(), name="import-job"),
    path(
        "numbers/import/<int:pk>/confirm/", jobs.ConfirmImportView.as_view(), name="import-confirm"
    ),
    path("import/<int:pk>/progress", jobs.import_progress, name="import-progress"),
    path("reconciliations/", jobs.ReconciliationListView.as_view(), name="reconciliations"),
    path("reconciliations/<int:pk>/", jobs.ReconciliationView.as_view(), name="reconciliation"),
    path("reconcile/<int:pk>/progress", jobs.reconcile_progress, name="reconcile-progress"),
]
