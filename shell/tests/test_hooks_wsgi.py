"""The lean WSGI entry point serves pushes like the full stack, and everything else unchanged."""

from __future__ import annotations

import io
from unittest import mock
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from billing.models import CallRecord
from billing.tests.factories import fee, fee_push
from console.testing.factories import JSON_TYPE, ApplicationFactory, signed
from shell.hooks_wsgi import application as wsgi_application

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.usefixtures("keep_db")]


@pytest.fixture
def keep_db():
    """As Django's test client does: the test's transaction must survive the request signals."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(path: str, body: bytes = b"", method: str = "POST", host="127.0.0.1", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": JSON_TYPE,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_HOST": host,
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    }
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers):
        started["status"] = int(status.split()[0])
        started["headers"] = dict(response_headers)

    response = wsgi_application(environ, start_response)
    content = b"".join(response)
    response.close()
    return started["status"], started["headers"], content


def test_a_push_through_the_lean_entry_point_is_stored_and_answered_200():
    # given
    app = ApplicationFactory()
    body = fee_push(fee(app))
    finished = mock.Mock()
    request_finished.connect(finished)
    # when
    try:
        status, headers, content = call("/hooks/fee", body, **signed(app))
    finally:
        request_finished.disconnect(finished)
    # then
    assert (status, content) == (200, b"")
    assert CallRecord.objects.count() == 1
    assert "Set-Cookie" not in headers  # no session, no CSRF, no language cookie
    finished.assert_called_once()  # database connections are looked after as usual


def test_an_unsigned_push_is_refused_the_same_way():
    status, _, content = call("/hooks/fee", b"{}")
    assert status == 401
    assert b"1023006" in content


def test_a_push_for_another_host_is_refused():
    app = ApplicationFactory()
    status, _, _ = call("/hooks/fee", fee_push(fee(app)), host="evil.example", **signed(app))
    assert status == 400
    assert not CallRecord.objects.exists()


def test_every_other_path_goes_through_the_full_console():
    status, headers, _ = call("/calls/", method="GET")
    assert status == 302  # the console's login redirect, from its middleware and views
    assert "/admin/login/" in headers["Location"]
