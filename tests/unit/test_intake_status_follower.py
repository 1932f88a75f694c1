"""The status follower makes a routed dispute readable, and spares the database the insert of
one this intake already stored."""

from intake.duplicates import KnownClaims
from intake.handlers import StatusFollower
from tests.factories import routed
from tests.fakes import InMemoryIntakeStore


async def test_a_routed_dispute_unknown_here_becomes_readable_and_a_stored_one_is_not_offered() -> (
    None
):
    store = InMemoryIntakeStore()
    known = KnownClaims()
    stored_here, lost_202 = routed(), routed()
    known.remember_stored(stored_here.case_id)
    offered: list[str] = []
    add_disputes = store.add_disputes

    async def recording(disputes: list[dict[str, object]]) -> None:
        offered.extend(str(d["_id"]) for d in disputes)
        await add_disputes(disputes)

    store.add_disputes = recording  # type: ignore[method-assign]
    await StatusFollower(store, known).on_routed([stored_here, lost_202])
    assert offered == [lost_202.case_id]
    found = await store.dispute(lost_202.case_id)
    assert found is not None
    assert found["tracking_number"] == lost_202.dispute.tracking_number
    assert len(await store.status_entries(stored_here.case_id)) == 1
