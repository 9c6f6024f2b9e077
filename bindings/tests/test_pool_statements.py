"""How the pool's choice reaches PostgreSQL: prepared once per connection, bound on the server."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bindings import services
from bindings.tests.factories import XNumberFactory
from console.testing import prepared_statements
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.postgres_only, pytest.mark.django_db]


def test_x_is_chosen_and_claimed_by_statements_prepared_once_and_bound_on_the_server():
    if connection.vendor != "postgresql":
        pytest.skip("the ORM chooses elsewhere")
    application = ApplicationFactory(mode="AXB")
    XNumberFactory.create_batch(3, application=application, city_code="0755")
    with CaptureQueriesContext(connection) as queries:
        for index in range(3):
            services.create_binding(
                application,
                {
                    "a_number": f"+8613800000{index:03d}",
                    "b_number": f"+8613900000{index:03d}",
                    "area_code": "0755",
                },
            )
    sent = [query["sql"].strip() for query in queries.captured_queries]
    choices = [text for text in sent if "FROM bindings_xnumber n" in text]
    claims = [text for text in sent if text.startswith("UPDATE bindings_xnumber SET")]
    assert len(choices) == 3
    assert len(claims) == 3
    # the values travelled apart from the text ($n), not written into it on the client
    assert all("$1" in text and "+86138" not in text for text in choices + claims)
    # one statement each on the server for the three bindings, planned once
    prepared = prepared_statements("%bindings_xnumber%")
    assert len(prepared) == 2
    assert any("FOR UPDATE OF n SKIP LOCKED" in text for text in prepared)
    assert any(text.lstrip().startswith("UPDATE bindings_xnumber SET") for text in prepared)
