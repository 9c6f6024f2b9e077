"""The logged gateway's clients share their process's pooled, kept-alive session (issue 19)."""

from __future__ import annotations

import pytest

from console.gateway import client_for
from console.models import PlatformCall
from console.testing.factories import ApplicationFactory
from privatenumber.tests.test_pooled import Platform

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

A, B = "+8613800000001", "+8613900000002"


def test_clients_of_one_process_share_one_session_and_one_connection():
    # given a platform that keeps connections alive, and an application on it
    platform = Platform()
    try:
        application = ApplicationFactory(base_url=platform.url)

        # when two clients bind, one after the other, each closed after its call
        with client_for(application) as first:
            first.axb_bind(caller_num=A, callee_num=B)
        with client_for(application) as second:
            second.axb_bind(caller_num=A, callee_num=B)

        # then both went over the process's session and one connection, and both were logged
        assert first.session is second.session
        assert platform.accepted == 1
        assert len(platform.requests) == 2
        assert PlatformCall.objects.filter(application=application, result_code="0").count() == 2
    finally:
        platform.close()
