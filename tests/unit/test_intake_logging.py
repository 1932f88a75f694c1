"""Phone and ID numbers never reach the log output, however they are written or nested."""

from typing import Any

import httpx
import pytest
from faststream.kafka import TestKafkaBroker

from intake.app import create_app
from intake.settings import IntakeSettings
from services.logging import configure_logging, mask_pii
from tests.auth import as_needed
from tests.factories import VALID_ID_NUMBER, petition_body
from tests.fakes import InMemoryIntakeStore

PHONES = ["13912345678", "+8613912345678", "+86 139 1234 5678", "139-1234-5678", "86 13912345678"]


@pytest.mark.parametrize("phone", PHONES)
def test_every_way_of_writing_a_mobile_is_masked(phone: str) -> None:
    masked = mask_pii(f"来电 {phone} 反映")
    assert "1234" not in masked
    assert "139****5678" in masked


def test_id_numbers_are_masked_and_long_digit_runs_are_not() -> None:
    assert mask_pii(f"身份证{VALID_ID_NUMBER}") == "身份证610921********0018"
    assert mask_pii("offset 12345678901234567890") == "offset 12345678901234567890"


def test_log_output_masks_values_at_any_depth(capsys: pytest.CaptureFixture[str]) -> None:
    logger = configure_logging("intake-log-test")
    logger.warning(
        "caller 13912345678 rang",
        phone="+86 139 1234 5678",
        nested={"parties": [{"id": VALID_ID_NUMBER}]},
    )
    output = capsys.readouterr().err
    assert "caller 139****5678 rang" in output
    for secret in ("12345678", "1234 5678", VALID_ID_NUMBER):
        assert secret not in output


async def test_a_petition_leaves_no_identity_in_the_logs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = create_app(IntakeSettings(log_level="DEBUG"), store=InMemoryIntakeStore())
    body: dict[str, Any] = petition_body()
    async with TestKafkaBroker(app.state.broker):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            auth=as_needed, transport=transport, base_url="http://intake"
        ) as client:
            accepted = await client.post("/v1/channels/petitions", json=body)
            refused = await client.post(
                "/v1/channels/petitions",
                json=body | {"petitioner": body["petitioner"] | {"phone": "1379876543"}},
            )
    assert (accepted.status_code, refused.status_code) == (202, 422)
    output = capsys.readouterr().err
    assert "dispute reported" in output
    for secret in (VALID_ID_NUMBER, "13798765432", "1379876543", "赵秀英"):
        assert secret not in output
        assert secret not in refused.text
