"""Every console page of bindings enforces its permissions; the walk covers new pages by itself."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bindings import urls
from bindings.models import BulkJob, NumberImport, Reconciliation
from bindings.tests.factories import ApplicationFactory, BindingFactory
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# The JSON endpoints are functions: the permission their decorator checks.
FUNCTION_PERMISSIONS = {
    "bulk-progress": ("bindings.add_binding",),
    "import-progress": ("bindings.view_numberimport",),
    "reconcile-progress": ("bindings.view_reconciliation",),
}


@pytest.fixture
def pages():
    """(name, url, method, permissions) of every page in bindings.urls."""
    application = ApplicationFactory(mode="AXE")
    binding = BindingFactory(application=application)
    args = {
        "pk": binding.pk,
        "application_id": application.pk,
    }
    ids = {
        "bulk-job": BulkJob.objects.create(application=application, file_name="a.csv").pk,
        "bulk-progress": BulkJob.objects.create(application=application, file_name="b.csv").pk,
        "import-job": NumberImport.objects.create(application=application, file_name="n.csv").pk,
        "import-confirm": NumberImport.objects.create(application=application).pk,
        "import-progress": NumberImport.objects.create(application=application).pk,
        "reconciliation": Reconciliation.objects.create(application=application).pk,
        "reconcile-progress": Reconciliation.objects.create(application=application).pk,
    }
    found = []
    for pattern in urls.urlpatterns:
        wanted = [
            ids.get(pattern.name, args[name]) if name == "pk" else args[name]
            for name in pattern.pattern.converters
        ]
        view = getattr(pattern.callback, "view_class", None)
        if view is None:
            method, permissions = "get", FUNCTION_PERMISSIONS[pattern.name]
        else:
            method = "post" if view.http_method_names == ["post"] else "get"
            required = view.permission_required
            permissions = (required,) if isinstance(required, str) else tuple(required)
        found.append(
            (pattern.name, reverse(f"bindings:{pattern.name}", args=wanted), method, permissions)
        )
    assert len(found) == len(urls.urlpatterns) >= 20
    return found


def visit(client, method, url):
    return getattr(client, method)(url)


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(client, pages):
    for name, url, method, _ in pages:
        response = visit(client, method, url)
        assert response.status_code == 302, name
        assert reverse("admin:login") in response["Location"], name


@pytest.mark.parametrize("role", [None, CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR])
def test_each_role_gets_exactly_the_pages_its_permissions_allow(
    client, make_user, pages, role, django_capture_on_commit_callbacks
):
    # given
    user = make_user("someone", role)
    client.force_login(user)
    # when / then
    wrong = []
    with django_capture_on_commit_callbacks(execute=False):
        for name, url, method, permissions in pages:
            status = visit(client, method, url).status_code
            allowed = user.has_perms(permissions)
            if allowed != (status != 403) or status >= 500:
                wrong.append((name, role, permissions, status))
    assert wrong == []


def test_customer_service_works_bindings_but_not_pools_or_jobs_of_others(client, make_user, pages):
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    statuses = {name: visit(client, method, url).status_code for name, url, method, _ in pages}
    assert statuses["list"] == statuses["binding"] == statuses["add"] == statuses["bulk"] == 200
    assert statuses["end"] == 200  # the confirmation
    assert statuses["bulk-job"] == statuses["bulk-progress"] == 404  # someone else's upload
    for name in ("numbers", "usage", "import", "imports", "import-job", "reconciliations"):
        assert statuses[name] == 403, name
    assert statuses["reveal"] == 403
