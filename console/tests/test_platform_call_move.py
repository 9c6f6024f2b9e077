"""PlatformCall moved from bindings to the kernel (issue 18) without touching the database: an
upgraded installation keeps every logged call, and the roles keep their permission on them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from console.models import PlatformCall
from console.roles import NUMBER_ADMINISTRATOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("bindings", "0014_job_leases"), ("console", "0009_view_real_numbers")]
AFTER = [
    ("bindings", "0015_platformcall_moves_to_console"),
    ("console", "0010_platformcall_from_bindings"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema():
    """The test migrates backwards and then only as far as the move: whatever came after it
    (in any app) is applied again, so the tests after this one see the whole schema."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_an_upgraded_database_keeps_its_platform_calls_and_the_roles_their_permission(
    django_user_model,
):
    # given a database as it was before the move, with a call logged by the bindings model
    old = migrate(BEFORE)
    application = old.get_model("console", "Application").objects.create(
        name="Before the move",
        mode="AXB",
        app_key="beforeTheMove",
        app_secret_encrypted="-",
        base_url="http://127.0.0.1:9",
    )
    logged = old.get_model("bindings", "PlatformCall").objects.create(
        application=application, interface="axb_bind", method="POST", result_code="1012010"
    )
    administrators = old.get_model("auth", "Group").objects.get(name=NUMBER_ADMINISTRATOR)
    assert administrators.permissions.filter(
        content_type__app_label="bindings", codename="view_platformcall"
    ).exists()
    # when it is migrated
    migrate(AFTER)
    ContentType.objects.clear_cache()
    # then the call is still there, read through the kernel's model
    call = PlatformCall.objects.get(pk=logged.pk)
    assert (call.application_id, call.interface, call.result_code) == (
        application.pk,
        "axb_bind",
        "1012010",
    )
    # and the administrators still hold the permission to read the calls, now the kernel's
    user = django_user_model.objects.create_user("admin-after-move", is_staff=True)
    user.groups.add(Group.objects.get(name=NUMBER_ADMINISTRATOR))
    assert user.has_perm("console.view_platformcall")
    assert not ContentType.objects.filter(app_label="bindings", model="platformcall").exists()
