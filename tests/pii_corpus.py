"""How people write phone and resident ID numbers into free text, and look-alikes that are
not identifiers. Shared by the unit tests of the redaction and the integration tests that
file them on every channel; the numbers are made up (the ID numbers' check digits are valid)."""

MOBILES = [
    "13987654321",
    "139 8765 4321",
    "139-8765-4321",
    "139.8765.4321",
    "139 87654321",
    "1398765 4321",
    "1398 765 4321",
    "139 - 8765 - 4321",
    "139　8765　4321",  # ideographic spaces
    "139－8765－4321",  # full-width hyphens
    "139—8765—4321",
    "+86 139 8765 4321",
    "+86-139-8765-4321",
    "+8613987654321",
    "0086 139 8765 4321",
    "0086-13987654321",
    "86 13987654321",
    "(+86) 139 8765 4321",
    "（+86）13987654321",
    "１３９８７６５４３２１",  # full-width digits
    "１３９ ８７６５ ４３２１",
    "＋８６ １３９８７６５４３２１",
]
ID_NUMBERS = [
    "610921198001010018",
    "11010519491231002x",
    "11010519491231002X",
    "110105 19491231 002x",
    "110105-1949-1231-002X",
    "1101 0519 4912 3100 2x",
    "１１０１０５１９４９１２３１００２ｘ",
]
LANDLINES = [
    "0916-2345678",
    "0916 234 5678",
    "(0916)2345678",
    "（0916）23456789",
    "029-88886666",
    "02988886666",
    "010 6552 9988",
]
SPELLINGS: list[tuple[str, str]] = [
    *[(mobile, "mobile") for mobile in MOBILES],
    *[(number, "id_number") for number in ID_NUMBERS],
    *[(landline, "landline") for landline in LANDLINES],
]
"""(as written, kind): every one must be gone from any text that leaves intake."""

NOT_IDENTIFIERS = [
    "2026-11-20",
    "2026.11.20",
    "2026年11月20日 09:30",
    "12000元",
    "12,000.50元",
    "共计 138000 元",
    "1.39亿元",
    "13.987654321亩",
    "HY-20261205-000123",
    "SF1234567890123",
    "YT9876543210987",
    "订单号 2026120512345678901",
    "1398765432",  # ten digits: not a number anyone can call
    "139876543210",  # twelve
    "123456789012345678",  # eighteen digits without a birth date
]
"""Must come through the redaction unchanged."""

MACHINE_TOKENS = [
    "a3f13912345678b0",
    "v1.dev1.x13912345678",
    "13912345678abcdef0123456789abcdef",
    "6809ae9a-c014-4819-82df-b0483335300",
    "e1398765-4321-4abc-9def-123456789012",
]
"""Hashes, envelopes and uuids: not identifiers in logs and events (only in people's text
may a number be glued to a letter, as in "tel13912345678")."""
