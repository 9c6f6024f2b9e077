"""The first steps of every journey: sign in, switch language, sign out."""

from __future__ import annotations

import pytest

from console.roles import CUSTOMER_SERVICE
from console.testing import KNOWN_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.embedded,
]


def sign_in(journey, username: str) -> None:
    journey.goto("/admin/login/")
    journey.page.fill("#id_username", username)
    journey.page.fill("#id_password", KNOWN_PASSWORD)
    with journey.page.expect_navigation():
        journey.page.click("input[type=submit]")


def test_staff_signs_in_in_chinese_and_switches_to_english(journey, make_user):
    # given
    make_user("kefu", CUSTOMER_SERVICE)
    # when
    journey.goto("/admin/login/")
    assert "隐私号管理控制台" in journey.page.title()
    journey.shot("login")
    sign_in(journey, "kefu")
    # then
    journey.page.wait_for_selector("#user-tools")
    assert "欢迎" in journey.page.text_content("#user-tools")
    journey.shot("signed-in")
    # when the language menu is switched to English
    with journey.page.expect_navigation():
        journey.page.select_option("#language-select", "en")
    # then the same page speaks English
    assert "Welcome" in journey.page.text_content("#user-tools")
    assert "Privacy number console" in journey.page.title()
    journey.shot("english")


def test_a_wrong_password_is_refused_with_a_message(journey, make_user):
    make_user("kefu", CUSTOMER_SERVICE)
    journey.goto("/admin/login/")
    journey.page.fill("#id_username", "kefu")
    journey.page.fill("#id_password", "not the password")
    journey.page.click("input[type=submit]")
    assert journey.page.locator(".errornote").is_visible()
