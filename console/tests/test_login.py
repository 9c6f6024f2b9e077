"""Sign-in: throttled per user name and address, lock-out explained; language switch."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from console.roles import CUSTOMER_SERVICE
from console.testing import KNOWN_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def attempt(client, username, password, address="10.1.2.3"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


@override_settings(AXES_FAILURE_LIMIT=3, LANGUAGE_CODE="en")
def test_repeated_failures_lock_the_user_at_that_address_and_say_why(client, make_user):
    make_user("kefu", CUSTOMER_SERVICE)
    make_user("colleague", CUSTOMER_SERVICE)
    for _ in range(2):
        assert attempt(client, "kefu", "wrong").status_code == 200
    locked = attempt(client, "kefu", "wrong")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "locked after 3 failed attempts" in text
    assert "15 minutes" in text
    # The right password does not get through while locked...
    assert attempt(client, "kefu", KNOWN_PASSWORD).status_code == 429
    # ...but the same user from another seat, and another user from this seat, are not locked.
    assert attempt(client, "kefu", KNOWN_PASSWORD, "10.9.9.9").status_code == 302
    assert attempt(client, "colleague", KNOWN_PASSWORD).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_lockout_page_speaks_chinese_by_default(client, make_user):
    make_user("kefu", CUSTOMER_SERVICE)
    for _ in range(3):
        response = attempt(client, "kefu", "wrong")
    assert response.status_code == 429
    page = response.content.decode()
    assert "登录已被锁定" in page
    # titled and headed as the console, not as Django's admin
    assert "<title>登录已被锁定 | 隐私号管理控制台</title>" in page
    assert "Django" not in page


def test_the_console_speaks_chinese_by_default_and_english_on_request(client):
    page = client.get(reverse("admin:login")).content.decode()
    assert "隐私号管理控制台" in page
    assert 'name="language"' in page

    response = client.post(reverse("set_language"), {"language": "en", "next": "/admin/login/"})
    assert response.status_code == 302
    page = client.get(reverse("admin:login")).content.decode()
    assert "Privacy number console" in page
    assert "隐私号管理控制台" not in page


def test_a_page_the_role_may_not_open_answers_a_proper_403(client, make_user):
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    response = client.get("/statements/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "隐私号管理控制台" in page
    assert "无权访问" in page
    assert 'class="console-nav"' in page  # the way back is the navigation
    assert "Django" not in page


def test_an_unknown_address_answers_a_proper_404(client, make_user, settings):
    settings.DEBUG = False
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "隐私号管理控制台" in response.content.decode()
