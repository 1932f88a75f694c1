"""A report whose text holds any Unicode a MongoDB string can hold is stored and routed; text no
BSON string can hold (lone surrogates), and NUL, which intake refuses as a control character,
are refused naming the field before any 202. Every channel, on the real servers."""

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pymongo import AsyncMongoClient

from intake.store import DISPUTES
from services.mongo import Document
from tests.auth import as_needed
from tests.factories import grid_body, hotline_body, open311_form, petition_body, wechat_body
from tests.integration.conftest import Stack
from tests.integration.test_intake_channels import dispute_id_of
from tests.waiting import eventually

pytestmark = pytest.mark.integration

STORABLE = {
    "emoji": "表情 😀 👨‍👩‍👧 🇨🇳",
    "CJK extension B": "𠀀 𪚥 𠮷",
    "right to left": "مرحبا שלום",
    "combining marks": "e\u0301 a\u0308 \u1100\u1161",
    "U+FFFF and U+FFFE": "\uffff \ufffe",
    "U+10FFFF": "\U0010ffff",
    "noncharacter, BOM, joiner, line separator": "\ufdd0 \ufeff \u200d \u2028",
}
REFUSED = {
    "NUL": ("\x00", "control_character"),
    "lone high surrogate": ("\ud800", "lone_surrogate"),
    "lone low surrogate": ("\udfff", "lone_surrogate"),
    "surrogates in the wrong order": ("\ude00\ud83d", "lone_surrogate"),
}


@dataclass(frozen=True)
class Channel:
    name: str
    path: str
    fields: tuple[str, ...]
    """The fields the text goes into, as a refusal names them."""
    body: Any

    def request(self, text: str) -> dict[str, Any]:
        """httpx arguments; JSON escapes every non-ASCII code point (`\\ud800` too)."""
        built = self.body(text)
        if self.path.startswith("/open311/"):
            # A lone surrogate has no UTF-8: sent as the bytes a careless encoder would write.
            encoded = "&".join(
                f"{quote(key)}={quote(value.encode('utf-8', 'surrogatepass'))}"
                for key, value in built.items()
            )
            form_type = "application/x-www-form-urlencoded"
            return {"content": encoded.encode(), "headers": {"content-type": form_type}}
        content = json.dumps(built, ensure_ascii=True).encode()
        return {"content": content, "headers": {"content-type": "application/json"}}


def described(text: str) -> str:
    return f"{uuid.uuid4().hex[:8]} {text} 两户吵架"


CHANNELS = (
    Channel(
        "hotline",
        "/v1/disputes",
        ("description", "parties.0.name"),
        lambda text: hotline_body(
            description=described(text),
            parties=[{"name": f"李{text}", "phone": "13912345678", "household_color": "yellow"}],
        ),
    ),
    Channel(
        "wechat",
        "/v1/channels/wechat/messages",
        ("text", "sender.nickname"),
        lambda text: wechat_body(
            text=f"隔壁又吵架了 {described(text)}", sender={"nickname": f"老王{text}"}
        ),
    ),
    Channel(
        "grid",
        "/v1/channels/grid/reports",
        ("description",),
        lambda text: grid_body(description=described(text)),
    ),
    Channel(
        "petition",
        "/v1/channels/petitions",
        ("description", "demands.0"),
        lambda text: petition_body(description=described(text), demands=[f"补偿{text}"]),
    ),
    Channel(
        "open311",
        "/open311/v2/requests.json",
        ("description", "first_name"),
        lambda text: open311_form(description=described(text), first_name=f"周{text}"),
    ),
)


def refused_fields(body: Any) -> dict[str, str | None]:
    """Field → code of an intake refusal; a GeoReport one names fields only."""
    if isinstance(body, list):
        return {entry["description"].split(":", 1)[0]: None for entry in body}
    return {entry["field"]: entry["code"] for entry in body["fields"]}


async def test_text_bson_cannot_hold_is_refused_naming_each_field(stack: Stack) -> None:
    wrong = []
    async with httpx.AsyncClient(
        auth=as_needed, base_url=stack.urls["intake"], timeout=30
    ) as client:
        for channel in CHANNELS:
            for case, (text, code) in REFUSED.items():
                answer = await client.post(channel.path, **channel.request(text))
                expected = 400 if channel.name == "open311" else 422  # GeoReport's own code
                found = refused_fields(answer.json()) if answer.status_code < 500 else {}
                named = all(field in found for field in channel.fields)
                coded = channel.name == "open311" or {found[f] for f in channel.fields} == {code}
                if answer.status_code != expected or not (named and coded):
                    wrong.append(f"{channel.name}, {case}: {answer.status_code} {answer.text}")
    assert wrong == []


async def test_any_text_bson_holds_is_stored_and_routed(stack: Stack) -> None:
    accepted: dict[str, tuple[str, str]] = {}
    async with httpx.AsyncClient(
        auth=as_needed, base_url=stack.urls["intake"], timeout=30
    ) as client:
        for channel in CHANNELS:
            for case, text in STORABLE.items():
                answer = await client.post(channel.path, **channel.request(text))
                assert answer.status_code in (201, 202), (channel.name, case, answer.text)
                accepted[await dispute_id_of(client, answer)] = (f"{channel.name}, {case}", text)

        waiting = set(accepted)

        async def all_in_a_queue() -> bool:
            # A re-report of a dispute whose case is open joins that case instead (earlier
            # tests may have left one open for the same place, category and party).
            for dispute_id in sorted(waiting):
                status = (await client.get(f"/v1/disputes/{dispute_id}")).json()
                if not {"assigned", "joined"} & {step["status"] for step in status["history"]}:
                    return False
                waiting.discard(dispute_id)
            return True

        await eventually(all_in_a_queue, timeout_s=60, what="every report routed to a queue")
    client_db: AsyncMongoClient[Document] = AsyncMongoClient(stack.infra.mongodb_uri)
    try:
        stored = {
            found["_id"]: found["dispute"]["description"]
            async for found in client_db[stack.database][DISPUTES].find(
                {"_id": {"$in": list(accepted)}}
            )
        }
    finally:
        await client_db.close()
    lost_or_changed = [
        case
        for dispute_id, (case, text) in accepted.items()
        if text not in stored.get(dispute_id, "")
    ]
    assert lost_or_changed == []
