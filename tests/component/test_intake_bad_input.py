"""Every bad input is refused with a 4xx naming the field, and nothing reaches Kafka."""

from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from contracts import topics
from tests.component.intake_helpers import call, intake_app
from tests.factories import hotline_body
from tests.intake_cases import BAD_INPUTS, HOTLINE, BadInput, refused_fields, request_of


@pytest.mark.parametrize("row", BAD_INPUTS, ids=[row.name for row in BAD_INPUTS])
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_published(
    capture: Any, row: BadInput
) -> None:
    app, store = intake_app()
    captured = capture(app.state.broker, topics.DISPUTES_REPORTED)
    async with TestKafkaBroker(app.state.broker):
        response = await call(app, "POST", row.path, **request_of(row, "BADMARKER"))
    assert response.status_code == row.status, response.text
    assert row.field in refused_fields(response.json()), response.text
    assert captured.bodies == []
    assert not store.collections.get("disputes")


async def test_a_malformed_idempotency_key_is_refused() -> None:
    app, _ = intake_app()
    async with TestKafkaBroker(app.state.broker):
        response = await call(
            app, "POST", HOTLINE, json=hotline_body(), headers={"Idempotency-Key": "x" * 201}
        )
    assert response.status_code == 422
    assert "header.Idempotency-Key" in refused_fields(response.json())
