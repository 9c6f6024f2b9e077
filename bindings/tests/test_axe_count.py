"""QueryAXEBindingCount: the console asks the platform before an AXE bind and for the pool page."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from bindings import services
from bindings.choices import BindingStatus
from bindings.models import XNumber
from console.models import PlatformCall
from console.testing.factories import secret_for
from privatenumber.client import PrivateNumberClient

pytestmark = [pytest.mark.postgres, pytest.mark.simulator, pytest.mark.django_db]


def fill_on_the_platform(platform, application, x: str, count: int) -> None:
    """AXE bindings made on the platform behind the console's back (another system, a person)."""
    with PrivateNumberClient(
        platform.sim.base_url, application.app_key, secret_for(application.app_key)
    ) as client:
        for index in range(count):
            client.axe_bind(bind_num=f"+861370000{index:04d}", virtual_num=x)


def test_an_axe_bind_is_not_sent_when_the_platform_counts_x_full(platform, settings):
    # given: X takes two A numbers, and the platform already carries two on it
    settings.BINDINGS_AXE_MAX_PER_X = 2
    application = platform.application("AXE", numbers=1)
    x = XNumber.objects.get(application=application)
    fill_on_the_platform(platform, application, x.number, 2)
    binding = services.create_binding(application, {"a_number": "+8613800000001"})
    # when
    services.bind(binding.pk)
    # then: refused here with the platform's code for it, and the count kept on X
    binding.refresh_from_db()
    assert (binding.status, binding.last_result_code) == (BindingStatus.FAILED, "1020167")
    assert list(
        PlatformCall.objects.filter(binding=binding).values_list("interface", flat=True)
    ) == ["axe_binding_count"]
    x.refresh_from_db()
    assert (x.platform_binding_count, x.binding_count) == (2, 0)


def test_an_axe_bind_with_room_on_x_is_sent_after_the_count(platform):
    application = platform.application("AXE", numbers=1)
    binding = services.create_binding(application, {"a_number": "+8613800000001"})
    services.bind(binding.pk)
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE
    calls = PlatformCall.objects.filter(binding=binding).order_by("at", "pk")
    assert [call.interface for call in calls] == ["axe_binding_count", "axe_bind"]


def test_the_pool_usage_page_shows_what_the_platform_counts(platform, boss):
    # given
    application = platform.application("AXE")
    first = XNumber.objects.filter(application=application).order_by("number").first()
    fill_on_the_platform(platform, application, first.number, 3)
    # when an administrator asks the platform (the task runs inline here)
    services.count_axe_bindings(application)
    page = boss.get(reverse("bindings:usage")).content.decode()
    # then
    counted = dict(
        XNumber.objects.filter(application=application).values_list(
            "number", "platform_binding_count"
        )
    )
    assert counted == {number: (3 if number == first.number else 0) for number in counted}
    assert 'data-field="on_platform">' in page
    assert ">3</span>" in page


def test_asking_the_platform_from_the_usage_page_queues_the_count(platform, boss):
    application = platform.application("AXE")
    url = reverse("bindings:usage-count", args=[application.pk])
    with mock.patch("bindings.tasks.count_axe_bindings_task.delay") as queued:
        answer = boss.post(url)
    assert answer.status_code == 302
    queued.assert_called_once_with(application.pk)
    assert boss.get(url).status_code == 405  # a POST only


def test_the_binding_page_explains_1020167_with_what_to_do(platform, settings, boss):
    settings.BINDINGS_AXE_MAX_PER_X = 1
    application = platform.application("AXE", numbers=1)
    x = XNumber.objects.get(application=application)
    fill_on_the_platform(platform, application, x.number, 1)
    binding = services.create_binding(application, {"a_number": "+8613800000001"})
    services.bind(binding.pk)
    url = reverse("bindings:binding", args=[binding.pk])
    chinese = boss.get(url).content.decode()
    english = boss.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1020167: 没有空闲的分机号" in chinese
    assert "处理方法：AXE 模式" in chinese
    assert "What to do: AXE: this X has no free extension" in english
