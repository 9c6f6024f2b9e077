"""console.inbox.parse reads pushes exactly as privatenumber.schemas does, only faster."""

from __future__ import annotations

import json

import pytest

from console.inbox import parse
from console.testing.factories import FIXTURE_APP_KEY, FIXTURES, ApplicationFactory
from privatenumber.schemas import SchemaError, parse_push

pytestmark = pytest.mark.django_db


@pytest.fixture
def application():
    return ApplicationFactory.build(app_key=FIXTURE_APP_KEY)


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(FIXTURES.glob("*.json")) if "answer" not in p.name],
    ids=lambda p: p.name,
)
def test_every_documented_push_parses_to_the_same_model(application, path):
    body = path.read_bytes()
    assert parse(application, body).push == parse_push(body)


@pytest.mark.parametrize(
    "bad_time",
    [
        "2019-02-30 09:15:14",
        "2019-01-23T09:15:14",
        "2019-01-23 09:15:14\n",
        "２０１９-01-23 09:15:14",
        "23/01/2019",
        "2019",
    ],
)
def test_a_bad_time_is_refused_with_the_schemas_own_words(application, bad_time):
    data = json.loads((FIXTURES / "axb_fee_recorded.json").read_text())
    data["feeLst"][0]["callEndTime"] = bad_time
    body = json.dumps(data).encode()
    with pytest.raises(SchemaError) as expected:
        parse_push(body)
    error = parse(application, body).error
    assert (error.field, error.problem) == (expected.value.field, expected.value.problem)
