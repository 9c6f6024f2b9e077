"""Bad paging and bad Range headers are answered 404 or 416, never 500 (issue 13, finding 8).

``/calls/?page=99999999999999999999`` reached PostgreSQL as an OFFSET that does not fit a bigint,
and a ``Range`` header with a 5,000-digit number made Python refuse to convert it: both were 500s.
Every admin changelist and every console list is asked for bad pages, and recording playback and
download for bad ranges.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import reverse

from console.tests.test_list_pages import rows  # noqa: F401 - the fixture
from recordings.tests.factories import make_stored_recording

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HUGE = "9" * 5000
BAD_PAGES = ["99999999999999999999", HUGE, "-1", "0", "abc", "1e3", "2.5", ""]
CONSOLE_LISTS = [
    (reverse("billing:calls"), "page"),
    (reverse("billing:calls") + "?q=%2B8613800000001&", "page"),
    (reverse("billing:calls"), "per_page"),
    (reverse("billing:statements"), "page"),
    (reverse("recordings:at_risk"), "risk-page"),
    (reverse("recordings:at_risk"), "lost-page"),
    (reverse("billing:live_calls"), "page"),
    (reverse("billing:dashboard"), "application"),
    (reverse("home"), "page"),
]
BAD_RANGES = [
    f"bytes={HUGE}-",
    f"bytes=0-{HUGE}",
    f"bytes=-{HUGE}",
    f"bytes={HUGE}-{HUGE}",
    "bytes=99999999999999999999-",
    "bytes=abc",
    "bytes=9-1",
    "bytes=-",
    "bytes=0-1,5-6",
    "items=0-5",
]


def status(client, url: str, **headers) -> int | str:
    """The status, or the exception a 500 would have been (each request in a savepoint, so a
    failed query cannot spoil the next one)."""
    try:
        with transaction.atomic():
            return client.get(url, headers=headers).status_code
    except Exception as error:  # the test client re-raises what the server would answer 500
        return type(error).__name__


def test_every_list_answers_bad_pages_with_a_page_or_404(client, make_user, rows):  # noqa: F811
    # given
    client.force_login(make_user("chief", is_superuser=True))
    changelists = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    asked = [(url, "p", value) for url in changelists for value in BAD_PAGES[:3]]
    asked += [(url, name, value) for url, name in CONSOLE_LISTS for value in BAD_PAGES]
    # when
    answers = {
        f"{url}{'&' if '?' in url else '?'}{name}={value[:30]}": status(
            client, f"{url}{'&' if '?' in url else '?'}{name}={value}"
        )
        for url, name, value in asked
    }
    # then
    assert {url: answer for url, answer in answers.items() if answer not in (200, 302, 404)} == {}
    assert answers["/calls/?page=99999999999999999999"] == 404
    assert answers[f"/calls/?page={HUGE[:30]}"] == 404
    assert answers["/calls/?page=-1"] == 404
    assert answers["/calls/?page=abc"] == 404
    assert answers["/calls/?per_page=99999999999999999999"] == 404


def test_a_reasonable_page_size_and_page_still_work(client, make_user, rows):  # noqa: F811
    client.force_login(make_user("chief", is_superuser=True))
    assert client.get(reverse("billing:calls"), {"page": 1, "per_page": 20}).status_code == 200


@pytest.mark.parametrize("endpoint", ["recordings:audio", "recordings:download"])
def test_recordings_answer_bad_ranges_with_416_or_the_file(admin_client, endpoint):
    # given
    recording = make_stored_recording(talk=3)
    url = reverse(endpoint, args=[recording.pk])
    # when
    answers = {header[:30]: status(admin_client, url, Range=header) for header in BAD_RANGES}
    # then
    assert answers == {
        f"bytes={HUGE[:24]}": 416,
        f"bytes=0-{HUGE[:22]}": 206,
        f"bytes=-{HUGE[:23]}": 206,
        f"bytes={HUGE}-{HUGE}"[:30]: 416,
        "bytes=99999999999999999999-": 416,
        "bytes=abc": 416,
        "bytes=9-1": 416,
        "bytes=-": 416,
        "bytes=0-1,5-6": 200,  # several ranges: the whole file, as the RFC allows
        "items=0-5": 200,  # another unit: ignored
    }
    assert status(admin_client, f"/recordings/{'9' * 30}/audio") == 404
