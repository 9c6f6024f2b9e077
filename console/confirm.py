"""Every destructive action asks first: one confirmation page for all of them.

A destructive request (end a binding, retire numbers, close statements, stop a call) that does not
carry ``confirmed=yes`` is answered with this page instead of being carried out: it says what will
happen to what, and posts the same request again with ``confirmed=yes``, or goes back. It is a page
of the server, not a browser dialog, so it works with no JavaScript and under a strict CSP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

CONFIRMED = "confirmed"
SHOWN = 20  # objects listed by name; the rest are counted


def confirmed(request) -> bool:
    """Whether this POST is the answer of a confirmation page."""
    return request.method == "POST" and request.POST.get(CONFIRMED) == "yes"


def confirmation(
    request,
    *,
    title: str,
    question: str,
    objects: Iterable = (),
    confirm_label: str = "",
    hidden: Sequence[tuple[str, str]] = (),
    action_url: str = "",
    back_url: str = "",
    context: dict | None = None,
) -> TemplateResponse:
    """The page that asks; ``hidden`` are the fields the request is posted again with."""
    listed = list(objects)[: SHOWN + 1]
    return TemplateResponse(
        request,
        "admin/confirm.html",
        {
            **(context or {}),
            "title": title,
            "question": question,
            "objects": listed[:SHOWN],
            "more": len(listed) > SHOWN,
            "confirm_label": confirm_label or _("Yes, go ahead"),
            "hidden": [*hidden, (CONFIRMED, "yes")],
            "action_url": action_url or request.get_full_path(),
            "back_url": back_url or request.META.get("HTTP_REFERER") or request.get_full_path(),
        },
    )


def confirm_admin_action(
    modeladmin, request, queryset, *, question: str, confirm_label: str
) -> TemplateResponse:
    """The confirmation of an admin action on the selected rows (posted back to the list)."""
    post = request.POST
    hidden = [("action", post.get("action", ""))]
    hidden += [
        (helpers.ACTION_CHECKBOX_NAME, pk) for pk in post.getlist(helpers.ACTION_CHECKBOX_NAME)
    ]
    for name in ("select_across", "index"):
        if name in post:
            hidden.append((name, post[name]))
    return confirmation(
        request,
        title=str(_("Are you sure?")),
        question=question,
        objects=queryset,
        confirm_label=confirm_label,
        hidden=hidden,
        back_url=request.get_full_path(),
        context={
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
        },
    )
