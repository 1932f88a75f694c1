"""Which webhook targets the notifier may reach: the pure decision, no I/O.

A webhook URL is the one thing a subscriber makes the notifier connect to, so it must not be
a way into the notifier's own network (its loopback, the intranet, the cloud metadata service
at 169.254.169.254). A URL is refused when it is not plain http(s), carries a user name or
password, names a local or metadata host, or is an address that is not globally reachable
(in any spelling: `2130706433`, `0x7f.1`, `0177.0.0.1` and `::ffff:127.0.0.1` are all
127.0.0.1). A name that passes is checked again on every address it resolves to at delivery
time (notifier/channels.py), because its DNS answer can change after it was subscribed.

An intranet that needs private targets names them in the allow-list: networks (CIDRs or bare
addresses) and host names, comma-separated. A listed name is trusted with whatever it resolves
to; a listed network permits its addresses however they were reached.
"""

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = frozenset({"http", "https"})

LOCAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "localdomain"}
)
"""Names that mean this machine; `*.localhost` too (RFC 6761)."""

METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
"""Cloud instance-metadata services by name (their addresses are refused anyway)."""

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix: its addresses reach the IPv4 address in their last 32 bits."""

SHARED = ipaddress.IPv4Network("100.64.0.0/10")
"""Carrier-grade NAT (RFC 6598); Alibaba Cloud's metadata service is 100.100.100.200."""


class Why(StrEnum):
    """Why a target is refused: a stable token for the refusal's parameters."""

    SCHEME = "scheme"
    USERINFO = "userinfo"
    NO_HOST = "no_host"
    LOCAL_NAME = "local_name"
    METADATA_NAME = "metadata_name"
    UNSPECIFIED = "unspecified"
    LOOPBACK = "loopback"
    LINK_LOCAL = "link_local"
    PRIVATE = "private"
    SHARED = "shared"
    MULTICAST = "multicast"
    RESERVED = "reserved"
    NOT_GLOBAL = "not_global"
    UNRESOLVED = "unresolved"


ADDRESS_WORDS = {
    Why.UNSPECIFIED: "the unspecified address",
    Why.LOOPBACK: "a loopback address",
    Why.LINK_LOCAL: "a link-local address (where cloud metadata services live)",
    Why.MULTICAST: "a multicast address",
    Why.SHARED: "a carrier-grade NAT address",
    Why.PRIVATE: "a private-network address",
    Why.RESERVED: "a reserved address",
    Why.NOT_GLOBAL: "not a globally reachable address",
}


@dataclass(frozen=True)
class Refused:
    why: Why
    host: str
    message: str


@dataclass(frozen=True)
class AllowList:
    networks: tuple[IPNetwork, ...] = ()
    names: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str) -> "AllowList":
        """`10.1.0.0/16, 192.168.5.7, hooks.intranet.example`; raises ValueError naming a
        bad entry."""
        networks: list[IPNetwork] = []
        names: set[str] = set()
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            if _looks_like_network(entry):
                try:
                    networks.append(ipaddress.ip_network(entry.strip("[]"), strict=True))
                except ValueError as error:
                    raise ValueError(f"allow-list entry {entry!r}: {error}") from None
            else:
                names.add(_normal_name(entry))
        return cls(tuple(networks), frozenset(names))

    def permits_name(self, host: str) -> bool:
        return _normal_name(host) in self.names

    def permits_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks) or any(
            inner in network for network in self.networks for inner in _embedded(address)
        )


def _looks_like_network(entry: str) -> bool:
    return ":" in entry or "/" in entry or all(c.isdigit() or c == "." for c in entry)


def _normal_name(host: str) -> str:
    return host.strip().lower().rstrip(".")


def refuse_url(url: str, allow: AllowList) -> Refused | None:
    """Why this webhook URL must not be used, or None. Names are not resolved here."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in SCHEMES:
        return Refused(Why.SCHEME, "", f"scheme {parts.scheme or '(none)'}: only http and https")
    if "@" in parts.netloc:
        return Refused(Why.USERINFO, parts.hostname or "", "a user name or password in the URL")
    host = unquote(parts.hostname or "")
    if not host:
        return Refused(Why.NO_HOST, "", "no host")
    address = parse_address(host)
    if address is not None:
        return refuse_address(address, allow, host=host)
    return refuse_name(host, allow)


def refuse_name(host: str, allow: AllowList) -> Refused | None:
    if allow.permits_name(host):
        return None
    name = _normal_name(host)
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return Refused(Why.LOCAL_NAME, host, f"{host} names this machine")
    if name in METADATA_NAMES:
        return Refused(Why.METADATA_NAME, host, f"{host} is a cloud metadata service")
    return None


def refuse_address(address: IPAddress, allow: AllowList, *, host: str = "") -> Refused | None:
    """Why a connection to this address is refused, or None for a global unicast address
    (or one the allow-list permits)."""
    if allow.permits_address(address):
        return None
    for checked in (*_embedded(address), address):
        why = _why_not_global(checked)
        if why is not None:
            shown = host or str(address)
            spelled = "" if shown == str(checked) else f" ({checked})"
            return Refused(why, shown, f"{shown}{spelled} is {ADDRESS_WORDS[why]}")
    return None


def _why_not_global(address: IPAddress) -> Why | None:
    checks = (
        (address.is_unspecified, Why.UNSPECIFIED),
        (address.is_loopback, Why.LOOPBACK),
        (address.is_link_local, Why.LINK_LOCAL),
        (address.is_multicast, Why.MULTICAST),
        (isinstance(address, ipaddress.IPv4Address) and address in SHARED, Why.SHARED),
        (address.is_private, Why.PRIVATE),
        (address.is_reserved, Why.RESERVED),
        (not address.is_global, Why.NOT_GLOBAL),
    )
    return next((why for failed, why in checks if failed), None)


def _embedded(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 address an IPv6 address reaches: mapped (::ffff:a.b.c.d), 6to4, NAT64."""
    if not isinstance(address, ipaddress.IPv6Address):
        return ()
    inner = [address.ipv4_mapped, address.sixtofour]
    if address in NAT64:
        inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return tuple(found for found in inner if found is not None)


def parse_address(host: str) -> IPAddress | None:
    """The address a URL host spells, in any form a resolver accepts: IPv6 (bracketed or
    not), dotted IPv4, and the inet_aton forms (`2130706433`, `0x7f.1`, `0177.0.0.1`)."""
    text = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    return _parse_loose_ipv4(text.rstrip("."))


def _parse_loose_ipv4(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_parse_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    *leading, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_number(part: str) -> int | None:
    """One part of an inet_aton address: decimal, 0x hex, or 0-prefixed octal."""
    if part[:2].lower() == "0x":
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if base == 16 and not digits:
        return 0  # "0x" alone is zero to a resolver
    if not (digits.isascii() and digits.isalnum()):
        return None
    try:
        return int(digits, base)
    except ValueError:
        return None
