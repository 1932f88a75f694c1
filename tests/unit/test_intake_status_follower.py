"""The status follower makes a routed dispute readable, and leaves one this intake already
stored as it was (with what only intake keeps)."""

from intake.handlers import StatusFollower
from tests.factories import routed
from tests.fakes import InMemoryIntakeStore


async def test_a_routed_dispute_unknown_here_becomes_readable_and_a_stored_one_stays() -> None:
    store = InMemoryIntakeStore()
    stored_here, lost_202 = routed(), routed()
    kept = {"_id": stored_here.case_id, "tracking_number": "HY-20261122-000001"}
    await store.add_disputes([kept | {"private": {"submitted_by": "operator-1"}}])
    await StatusFollower(store).on_routed([stored_here, lost_202])
    found = await store.dispute(lost_202.case_id)
    assert found is not None
    assert found["tracking_number"] == lost_202.dispute.tracking_number
    still = await store.dispute(stored_here.case_id)
    assert still is not None
    assert still["private"] == {"submitted_by": "operator-1"}
    assert len(await store.status_entries(stored_here.case_id)) == 1
