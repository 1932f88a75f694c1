"""What this process has learnt about duplicate claims: facts that never change once true.

A claim is inserted once and never updated or removed, so once the claims of a match key for a
day exist they exist for good, held by the same dispute; and a dispute once stored stays
stored. Remembering these facts (never their absence) spares the database the inserts and
reads a report about a party seen before would repeat: on FerretDB a refused duplicate insert
costs about as much as an insert, and a repeat caller is the case duplicate links are for.
"""

from collections import OrderedDict

CAPACITY = 20_000
"""Entries of each kind kept, most recently used first: a few MB."""


class Recent:
    """A bounded map that forgets its least recently used entries."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._entries: OrderedDict[str, str | None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> str | None:
        if key not in self._entries:
            return None
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: str, value: str | None = None) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


class KnownClaims:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._claimed = Recent(capacity)
        """Today's claim id of a match key → its holder, if known: every claim of that key
        for the days of the window from today exists."""
        self._stored = Recent(capacity)
        """Dispute ids stored (acknowledged) in this intake's database."""

    def claimed(self, today: str) -> bool:
        return today in self._claimed

    def holder(self, today: str) -> str | None:
        return self._claimed.get(today)

    def remember_claimed(self, today: str, holder: str | None) -> None:
        self._claimed.put(today, holder)

    def is_stored(self, dispute_id: str) -> bool:
        return dispute_id in self._stored

    def remember_stored(self, dispute_id: str) -> None:
        self._stored.put(dispute_id)
