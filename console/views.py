"""Console pages of the kernel that are not admin pages: health, stuck jobs, privacy requests."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView

from console import access_requests, health, jobs, retention, watch
from console.confirm import confirmed
from console.models import AccessRequest
from console.numbers import InvalidNumber
from console.pages import ConsolePage


@never_cache
@require_GET
def healthz(request):
    """Machine-readable health: 200 when database, Redis and workers are up, else 503."""
    status, body = health.report()
    watch.check_heartbeat_now_and_then()  # a probe's call: a chance to notice silent workers
    return JsonResponse(body, status=status)


class StuckJobsView(ConsolePage, TemplateView):
    """``/jobs/stuck/``: jobs whose worker lease ran out (console.jobs), each with "retry now".

    The sweeper sends them again every minute; an administrator need not wait for it (or sees
    what keeps coming back). Each retry is audited.
    """

    template_name = "console/stuck_jobs.html"
    title = _("Stuck jobs")

    def has_permission(self) -> bool:
        user = self.request.user
        return user.is_active and user.is_staff and jobs.may_retry(user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kinds"] = [
            (kind, [(job, kind.describe(job), kind.url(job)) for job in found])
            for kind, found in jobs.stuck_jobs(self.request.user)
        ]
        return context

    def post(self, request, *args, **kwargs):
        kind = request.POST.get("kind", "")
        ids = request.POST.getlist("job")
        sent = sum(
            jobs.retry_now(kind, int(job_id), user=request.user, request=request)
            for job_id in ids
            if job_id.isdigit() and len(job_id) <= 18
        )
        if sent:
            messages.success(
                request, _("%(count)s job(s) sent to the workers again.") % {"count": sent}
            )
        else:
            messages.warning(
                request, _("Nothing was sent: the job is no longer stuck, or the queue is down.")
            )
        return HttpResponseRedirect(reverse("stuck_jobs"))


class ErasureView(ConsolePage, TemplateView):
    """``/privacy/erasure/``: a person's erasure request (PIPL Art. 47) for one real number.

    The number is posted, never put in a URL. The first post shows how many rows of each kind
    hold it; the confirmed post erases them (``console.retention.erase``) and shows the report,
    which the audit row keeps (with the number masked and its pseudonym).
    """

    permission_required = "console.erase_personal_data"
    template_name = "console/erasure.html"
    title = _("Erasure request")

    def post(self, request, *args, **kwargs):
        number = request.POST.get("number", "").strip()[:40]
        context = self.get_context_data(number=number)
        try:
            found = retention.find(number)
        except InvalidNumber as error:
            context["error"] = error.messages[0]
            return self.render_to_response(context)
        if confirmed(request):
            try:
                context["report"] = retention.erase(number, user=request.user, request=request)
            except retention.ErasureBlocked as blocked:
                context["blocked"] = blocked.blocking
            else:
                context["number"] = ""
        context["found"] = [(part, count) for part, count in found]
        context["blocking"] = any(part.blocks_erasure and count for part, count in found)
        context["total"] = sum(count for part, count in found if not part.blocks_erasure)
        return self.render_to_response(context)


class AccessRequestView(ConsolePage, TemplateView):
    """``/privacy/access/``: ask for everything the console holds about one number (PIPL
    Art. 45); the requests of the last 30 days with their progress, each file downloadable once.
    """

    permission_required = ("console.add_accessrequest", "console.view_accessrequest")
    template_name = "console/access_requests.html"
    title = _("Access requests")
    SHOWN = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        since = timezone.now() - timedelta(days=30)
        found = AccessRequest.objects.filter(created_at__gte=since).select_related("requested_by")
        context["requests"] = list(found.order_by("-pk")[: self.SHOWN])
        context["running"] = any(r.state in access_requests.RUNNING for r in context["requests"])
        return context

    def post(self, request, *args, **kwargs):
        number = request.POST.get("number", "").strip()[:40]
        try:
            job = access_requests.start(number, user=request.user, request=request)
        except InvalidNumber as error:
            context = self.get_context_data(error=error.messages[0], number=number)
            return self.render_to_response(context)
        messages.success(
            request,
            _("Access request #%(id)s for %(number)s is being gathered.")
            % {"id": job.pk, "number": job.number_masked},
        )
        return HttpResponseRedirect(reverse("access_requests"))


@login_required
@permission_required("console.view_accessrequest", raise_exception=True)
@require_POST
def access_request_download(request, job_id: int):
    """The file of a ready request, once (a POST: a download that deletes is not a GET)."""
    job = get_object_or_404(AccessRequest, pk=job_id)
    content = access_requests.take(job, user=request.user, request=request)
    if content is None:
        raise Http404(_("This file was downloaded already, or is not ready."))
    answer = HttpResponse(content, content_type="application/zip")
    answer["Content-Disposition"] = f'attachment; filename="access-request-{job.pk}.zip"'
    answer["Cache-Control"] = "no-store"
    return answer
