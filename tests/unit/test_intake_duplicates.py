from intake.duplicates import KnownClaims, Recent


def test_recent_forgets_the_least_recently_used_beyond_its_capacity() -> None:
    recent = Recent(capacity=2)
    recent.put("a", "1")
    recent.put("b")
    assert recent.get("a") == "1"  # "a" is now the most recently used
    recent.put("c", "3")
    assert "b" not in recent
    assert ("a" in recent, recent.get("c")) == (True, "3")


def test_a_claim_known_without_its_holder_is_still_known_claimed() -> None:
    known = KnownClaims(capacity=10)
    known.remember_claimed("key|20261122", None)
    assert known.claimed("key|20261122")
    assert known.holder("key|20261122") is None
    known.remember_claimed("key|20261122", "d-1")
    assert known.holder("key|20261122") == "d-1"
    assert not known.claimed("key|20261123")
    assert not known.is_stored("d-1")
    known.remember_stored("d-1")
    assert known.is_stored("d-1")
