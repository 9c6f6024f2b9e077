"""Applications: the secret is encrypted at rest, never rendered back, only replaced."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from console.models import Application, AuditLog
from console.roles import NUMBER_ADMINISTRATOR

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-value-that-must-never-show"


def add_application(**overrides) -> Application:
    options = {
        "name": "Ride hailing",
        "mode": "AXB",
        "app_key": "rideKey01",
        "app_secret": SECRET,
        "base_url": "https://rtcpns.cn-north-1.myhuaweicloud.com",
        **overrides,
    }
    call_command("add_application", *[f"--{k.replace('_', '-')}={v}" for k, v in options.items()])
    return Application.objects.get(app_key=options["app_key"])


def test_the_command_stores_the_secret_encrypted():
    application = add_application()
    assert SECRET not in application.app_secret_encrypted
    assert application.get_secret() == SECRET


def test_the_command_refuses_a_bad_base_url_and_says_which_field():
    with pytest.raises(CommandError, match="base_url"):
        add_application(base_url="not a url")
    assert not Application.objects.exists()


def test_the_admin_never_renders_the_secret_and_keeps_it_when_left_empty(client, make_user):
    # given
    application = add_application()
    admin = make_user("boss", NUMBER_ADMINISTRATOR)
    client.force_login(admin)
    url = reverse("admin:console_application_change", args=[application.pk])
    # when
    page = client.get(url).content.decode()
    # then
    assert SECRET not in page
    assert application.app_secret_encrypted not in page
    assert "/hooks/fee" in page  # the receiver URL to paste into the platform
    # when the form is saved with the secret left empty
    response = client.post(
        url,
        {
            "name": "Ride hailing 2",
            "mode": "AXB",
            "app_key": "rideKey01",
            "app_secret": "",
            "base_url": application.base_url,
            "push_xstatus": "on",
            "block_call_rule": "connect",
            "block_sms_rule": "forward",
            "callee_num_display": "0",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    application.refresh_from_db()
    assert application.name == "Ride hailing 2"
    assert application.get_secret() == SECRET
    assert AuditLog.objects.filter(action="modify", target_id=str(application.pk)).exists()


def test_a_replaced_secret_is_audited(client, make_user):
    application = add_application()
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    client.post(
        reverse("admin:console_application_change", args=[application.pk]),
        {
            "name": application.name,
            "mode": "AXB",
            "app_key": "rideKey01",
            "app_secret": "a-new-secret",
            "base_url": application.base_url,
            "block_call_rule": "connect",
            "block_sms_rule": "forward",
            "callee_num_display": "0",
        },
    )
    application.refresh_from_db()
    assert application.get_secret() == "a-new-secret"
    entry = AuditLog.objects.get(action="secret_replaced")
    assert entry.username == "boss"
    assert "a-new-secret" not in str(entry.details)


def test_the_audit_log_cannot_be_edited_from_the_admin(client, make_user):
    add_application()
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    from console.audit import record

    entry = record("create", Application.objects.get())
    assert client.get(reverse("admin:console_auditlog_changelist")).status_code == 200
    change = client.post(reverse("admin:console_auditlog_change", args=[entry.pk]), {"action": "x"})
    entry.refresh_from_db()
    assert entry.action == "create"
    assert change.status_code in (200, 403)
    assert client.post(reverse("admin:console_auditlog_delete", args=[entry.pk])).status_code == 403
