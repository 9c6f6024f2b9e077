"""The X-number pool for administrators: the list and what is done to the numbers ticked on it
(retire, put back, reconcile with the platform), and the pool's usage by city."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.paginators import LazyPaginator

from bindings import forecast, modes, services
from bindings.filters import XNumberFilterSet
from bindings.models import XNumber
from bindings.tables import XNumberTable
from console.confirm import confirmation, confirmed
from console.models import Application
from console.pages import ConsolePage

PER_PAGE = 50


class XNumberListView(ConsolePage, SingleTableMixin, FilterView):
    """``/bindings/numbers/``: the numbers of every pool, by number, filtered and searched."""

    permission_required = "bindings.view_xnumber"
    title = _("X numbers")
    template_name = "bindings/number_list.html"
    table_class = XNumberTable
    filterset_class = XNumberFilterSet
    table_pagination = {"paginator_class": LazyPaginator, "per_page": PER_PAGE}

    def get_queryset(self):
        return XNumber.objects.select_related("application")

    def get_table_kwargs(self):
        may_change = self.request.user.has_perm("bindings.change_xnumber")
        kwargs = {"edit_links": may_change}
        if not may_change:
            kwargs["exclude"] = ("selected",)
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            can_change=user.has_perm("bindings.change_xnumber"),
            can_import=user.has_perms(["bindings.add_xnumber", "bindings.add_numberimport"]),
            can_follow_imports=user.has_perm("bindings.view_numberimport"),
            can_follow_reconciliations=user.has_perm("bindings.view_reconciliation"),
        )
        return context


class NumberActionView(ConsolePage, TemplateView):
    """POST ``/bindings/numbers/action/``: retire (asks first), put back, or reconcile the numbers
    ticked on the list."""

    permission_required = "bindings.change_xnumber"
    http_method_names = ["post"]
    title = _("Are you sure?")
    ACTIONS = ("retire", "reinstate", "reconcile")

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        ids = [int(v) for v in request.POST.getlist("selected") if v.isdigit() and len(v) <= 18]
        back = reverse("bindings:numbers")
        if action not in self.ACTIONS or not ids:
            messages.warning(request, gettext("Choose the numbers and what to do with them."))
            return HttpResponseRedirect(back)
        chosen = XNumber.objects.filter(pk__in=ids).order_by("number")
        user = request.user
        if action == "retire":
            if not confirmed(request):
                return confirmation(
                    request,
                    title=str(self.title),
                    question=gettext(
                        "Retired numbers take no new binding; the bindings they carry keep "
                        "working until they end. They can be put back into the pool later."
                    ),
                    objects=chosen,
                    confirm_label=gettext("Yes, retire these numbers"),
                    hidden=[("action", action), *(("selected", str(pk)) for pk in ids)],
                    back_url=back,
                    context=self.get_context_data(),
                )
            changed = services.retire_numbers(chosen, user=user, request=request)
            messages.success(request, gettext("%(n)s number(s) retired.") % {"n": changed})
        elif action == "reinstate":
            changed = services.reinstate_numbers(chosen, user=user, request=request)
            messages.success(request, gettext("%(n)s number(s) back in the pool.") % {"n": changed})
        else:
            return self.reconcile(request, chosen)
        return HttpResponseRedirect(back)

    def reconcile(self, request, chosen):
        by_application: dict[int, list[int]] = {}
        for number_id, application_id in chosen.values_list("pk", "application_id"):
            by_application.setdefault(application_id, []).append(number_id)
        runs = [
            services.start_reconcile(
                Application.objects.get(pk=application_id), ids, user=request.user, request=request
            )
            for application_id, ids in by_application.items()
        ]
        if len(runs) == 1:
            # One application: its page follows the progress.
            return HttpResponseRedirect(reverse("bindings:reconciliation", args=[runs[0].pk]))
        messages.success(
            request,
            gettext(
                "Reconciliation queued for %(n)s number(s); the result appears under "
                "Reconciliations."
            )
            % {"n": sum(len(ids) for ids in by_application.values())},
        )
        return HttpResponseRedirect(reverse("bindings:numbers"))


class PoolUsageView(ConsolePage, TemplateView):
    """``/bindings/numbers/usage/``: numbers by state and bindings against capacity, per
    application and city; where the platform counts the bindings of each X, its own count."""

    permission_required = "bindings.view_xnumber"
    template_name = "bindings/usage.html"
    title = _("Pool usage by city")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The usage rows, each with its forecast (bindings.forecast): days left, numbers to order.
        context.update(rows=forecast.forecasts(), counted_modes=modes.PLATFORM_COUNTS)
        return context


class CountView(ConsolePage, TemplateView):
    """POST: ask the platform for an application's binding counts per X (a task does it)."""

    permission_required = "bindings.view_xnumber"
    http_method_names = ["post"]

    def post(self, request, application_id: int):
        from bindings.tasks import count_axe_bindings_task

        application = get_object_or_404(
            Application, pk=application_id, mode__in=modes.PLATFORM_COUNTS
        )
        count_axe_bindings_task.delay(application.pk)
        messages.info(
            request,
            gettext(
                "The platform is being asked how many bindings each X of %(application)s "
                "carries; reload this page in a moment."
            )
            % {"application": application.name},
        )
        return HttpResponseRedirect(reverse("bindings:usage"))
