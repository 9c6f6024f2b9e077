"""The client's request models take Huawei's documented bodies and refuse the first edition's.

Each documented body (fixtures/requests.json, with its source page) is validated by the model the
client builds it with and comes back on the wire as documented (a JSON boolean ``recordFlag`` is
sent as the string every table asks for). Each first-edition body is refused naming the field.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from privatenumber import schemas
from privatenumber.tests import documented

NUMBERS = {
    "A": "+8613800000001",
    "B": "+8613900000002",
    "X": "+8617000000001",
    "CITY": "0755",
    "SID": "a6e2f3b8-5c1d-4f7a-9e2b-7d8c6a5b4e3f",
    "SESSION": "1200_366_0_20161228102743@callenabler.home1.com",
}
DOCUMENTED = documented.load("documented")
FIRST_EDITION = documented.load("first_edition")


@pytest.mark.parametrize("entry", DOCUMENTED, ids=[entry["name"] for entry in DOCUMENTED])
def test_a_documented_body_is_accepted_and_sent_as_documented(entry) -> None:
    model = getattr(schemas, entry["model"])
    data = documented.fill(entry.get("body") or entry["query"], NUMBERS)
    request = model.model_validate(data)
    expected = {
        key: ("true" if value is True else "false" if value is False else value)
        for key, value in data.items()
    }
    wire = request.to_wire()
    if "query" in entry:  # a URL query carries text; the model reads its integers
        wire = {key: str(value) for key, value in wire.items()}
    assert wire == expected


@pytest.mark.parametrize("entry", FIRST_EDITION, ids=[entry["name"] for entry in FIRST_EDITION])
def test_a_first_edition_body_is_refused_naming_the_field(entry) -> None:
    model = getattr(schemas, entry["model"])
    with pytest.raises(ValidationError) as refused:
        model.model_validate(documented.fill(entry["body"], NUMBERS))
    named = {str(error["loc"][0]) for error in refused.value.errors(include_url=False)}
    assert named & set(entry["names"]), named
