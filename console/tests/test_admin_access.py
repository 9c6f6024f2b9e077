"""Staff are refused every admin page outside their role; the walk covers new models by itself."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from console.roles import CUSTOMER_SERVICE

pytestmark = pytest.mark.django_db


def admin_pages_outside(user) -> list[tuple[str, str]]:
    """(label, url) of the changelist and add page of every model the user may not view."""
    pages = []
    for model in admin.site._registry:
        opts = model._meta
        if user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
            f"{opts.app_label}.change_{opts.model_name}"
        ):
            continue
        info = (opts.app_label, opts.model_name)
        pages.append((f"{opts.label} list", reverse("admin:{}_{}_changelist".format(*info))))
        if not user.has_perm(f"{opts.app_label}.add_{opts.model_name}"):
            pages.append((f"{opts.label} add", reverse("admin:{}_{}_add".format(*info))))
    return pages


def test_customer_service_is_refused_every_admin_page_outside_the_role(client, make_user):
    # given
    staff = make_user("kefu", CUSTOMER_SERVICE)
    client.force_login(staff)
    pages = admin_pages_outside(staff)
    assert len(pages) > 10, "the walk must cover the registered models"
    # when / then
    allowed = []
    for label, url in pages:
        response = client.get(url)
        if response.status_code not in (403, 302) or (
            response.status_code == 302 and "/login/" not in response["Location"]
        ):
            allowed.append((label, url, response.status_code))
    assert allowed == []


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("admin:auth_user_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
