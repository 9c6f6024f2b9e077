"""The worst-numbers page (issue 16): each X's health figures, worst first, with its trend."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from billing.models import NumberHealth
from console.pages import ConsolePage

SPARK_WIDTH, SPARK_HEIGHT = 120, 24


def sparkline(daily: list[list]) -> str:
    """The points of an SVG polyline of calls per day (server-side, like the dashboard's)."""
    values = [row[1] for row in daily]
    if len(values) < 2:
        return ""
    top = max(values) or 1
    step = SPARK_WIDTH / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 2 - (v / top) * (SPARK_HEIGHT - 4):.1f}"
        for i, v in enumerate(values)
    )


class WorstNumbersView(ConsolePage, TemplateView):
    """``/calls/worst-numbers/``: the 100 X numbers furthest past a threshold, resting ones
    with their reason."""

    permission_required = "billing.view_numberhealth"
    template_name = "billing/worst_numbers.html"
    title = _("Worst numbers")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = NumberHealth.objects.select_related("x", "application").order_by(
            "-score", "-calls", "x_id"
        )[:100]
        context["rows"] = [{"health": h, "x": h.x, "spark": sparkline(h.daily)} for h in rows]
        context["spark_width"], context["spark_height"] = SPARK_WIDTH, SPARK_HEIGHT
        return context
