"""Which webhook targets the notifier refuses: every way of spelling a way into its own network."""

import ipaddress

import pytest
from pydantic import ValidationError

from notifier.settings import NotifierSettings
from notifier.targets import AllowList, Why, parse_address, refuse_address, refuse_url

NOTHING_ALLOWED = AllowList()

REFUSED = [
    ("http://127.0.0.1/hook", Why.LOOPBACK),
    ("http://127.8.9.10:8080/", Why.LOOPBACK),
    ("http://[::1]/", Why.LOOPBACK),
    ("http://0.0.0.0/", Why.UNSPECIFIED),
    ("http://0/", Why.UNSPECIFIED),
    ("http://[::]/", Why.UNSPECIFIED),
    ("http://10.1.2.3/", Why.PRIVATE),
    ("http://172.16.0.1/", Why.PRIVATE),
    ("http://172.31.255.254/", Why.PRIVATE),
    ("http://192.168.1.1/", Why.PRIVATE),
    ("http://169.254.169.254/latest/meta-data/", Why.LINK_LOCAL),
    ("http://169.254.0.23/", Why.LINK_LOCAL),
    ("http://[fe80::1]/", Why.LINK_LOCAL),
    ("http://[fc00::1]/", Why.PRIVATE),
    ("http://[fd12:3456::1]/", Why.PRIVATE),
    ("http://[::ffff:127.0.0.1]/", Why.LOOPBACK),
    ("http://[::ffff:7f00:1]/", Why.LOOPBACK),
    ("http://[::ffff:169.254.169.254]/", Why.LINK_LOCAL),
    ("http://[64:ff9b::7f00:1]/", Why.LOOPBACK),
    ("http://[2002:7f00:1::]/", Why.LOOPBACK),
    ("http://100.64.0.1/", Why.SHARED),
    ("http://100.100.100.200/", Why.SHARED),
    ("http://224.0.0.1/", Why.MULTICAST),
    ("http://[ff02::1]/", Why.MULTICAST),
    ("http://255.255.255.255/", Why.PRIVATE),
    ("http://2130706433/", Why.LOOPBACK),
    ("http://0x7f.1/", Why.LOOPBACK),
    ("http://0x7f000001/", Why.LOOPBACK),
    ("http://0177.0.0.1/", Why.LOOPBACK),
    ("http://127.1/", Why.LOOPBACK),
    ("http://%31%32%37.0.0.1/", Why.LOOPBACK),
    ("http://0xa9.0xfe.0xa9.0xfe/", Why.LINK_LOCAL),
    ("http://localhost/", Why.LOCAL_NAME),
    ("http://LOCALHOST.:8080/", Why.LOCAL_NAME),
    ("http://hooks.localhost/", Why.LOCAL_NAME),
    ("http://ip6-localhost/", Why.LOCAL_NAME),
    ("http://metadata.google.internal/computeMetadata/v1/", Why.METADATA_NAME),
    ("http://Metadata.Google.Internal./", Why.METADATA_NAME),
    ("http://metadata/", Why.METADATA_NAME),
    ("http://metadata.tencentyun.com/latest/meta-data/", Why.METADATA_NAME),
    ("http://user@hooks.example.cn/", Why.USERINFO),
    ("https://user:pass@hooks.example.cn/", Why.USERINFO),
    ("http://hooks.example.cn@127.0.0.1/", Why.USERINFO),
    ("ftp://hooks.example.cn/", Why.SCHEME),
    ("file:///etc/passwd", Why.SCHEME),
    ("gopher://127.0.0.1:6379/_INFO", Why.SCHEME),
    ("//hooks.example.cn/", Why.SCHEME),
    ("http:///path-only", Why.NO_HOST),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_a_target_inside_the_notifiers_network_is_refused(url: str, why: Why) -> None:
    refused = refuse_url(url, NOTHING_ALLOWED)
    assert refused is not None, url
    assert refused.why == why
    assert refused.message


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.cn/tiaojie",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
        "http://8.8.8.8/",
        "https://[2001:4860:4860::8888]/hook",
        "http://172.32.0.1/",  # just outside 172.16/12
        "http://100.128.0.1/",  # just outside 100.64/10
        "http://metadata.example.cn/",  # only the metadata names themselves
        "http://intranet-hooks/",  # a bare name: its addresses are checked at delivery
    ],
)
def test_a_public_target_passes(url: str) -> None:
    assert refuse_url(url, NOTHING_ALLOWED) is None


def test_the_message_names_the_address_a_strange_spelling_means() -> None:
    refused = refuse_url("http://0x7f.1/", NOTHING_ALLOWED)
    assert refused is not None
    assert refused.host == "0x7f.1"
    assert "127.0.0.1" in refused.message
    assert "loopback" in refused.message


@pytest.mark.parametrize(
    ("spelled", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7F.0.0.1.", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("0x", "0.0.0.0"),
    ],
)
def test_every_inet_aton_spelling_is_read_as_the_address(spelled: str, address: str) -> None:
    assert parse_address(spelled) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "name", ["hooks.example.cn", "1.2.3.4.5", "256.1.1.1", "0x1g.0.0.1", "08.0.0.1", "1..2", ""]
)
def test_a_name_is_not_read_as_an_address(name: str) -> None:
    assert parse_address(name) is None


ALLOW = AllowList.parse("10.1.0.0/16, 127.0.0.1, fd00:1::/32 ,hooks.intranet.example.")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.200.3/hook",
        "http://127.0.0.1:9000/",
        "http://2130706433:9000/",  # the allowed address in another spelling
        "http://[::ffff:10.1.0.9]/",
        "http://[fd00:1::5]/",
        "https://HOOKS.intranet.example/alerts",
    ],
)
def test_the_allow_list_permits_what_it_names(url: str) -> None:
    assert refuse_url(url, ALLOW) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.2.0.1/", Why.PRIVATE),
        ("http://127.0.0.2/", Why.LOOPBACK),
        ("http://169.254.169.254/", Why.LINK_LOCAL),
        ("http://localhost/", Why.LOCAL_NAME),
        ("http://other.intranet.example@10.1.0.1/", Why.USERINFO),
        ("ftp://hooks.intranet.example/", Why.SCHEME),
    ],
)
def test_the_allow_list_permits_nothing_else(url: str, why: Why) -> None:
    refused = refuse_url(url, ALLOW)
    assert refused is not None
    assert refused.why == why


def test_an_allowed_name_is_trusted_with_any_address_but_others_are_not() -> None:
    loopback = ipaddress.ip_address("127.0.0.5")
    assert refuse_address(loopback, ALLOW) is not None
    assert ALLOW.permits_name("hooks.intranet.example")
    assert not ALLOW.permits_name("intranet.example")


@pytest.mark.parametrize("entry", ["10.1.0.1/16", "300.1.0.0/16", "fd00::/129", "10.1.0.0/40"])
def test_a_mistyped_allow_list_entry_is_refused_by_name(entry: str) -> None:
    with pytest.raises(ValueError, match="allow-list entry"):
        AllowList.parse(f"hooks.intranet.example, {entry}")


def test_an_empty_allow_list_allows_nothing() -> None:
    assert AllowList.parse(" , ") == AllowList()


def test_the_setting_is_read_as_an_allow_list_and_a_mistyped_one_stops_the_start() -> None:
    settings = NotifierSettings(webhook_allow="127.0.0.1,hooks.intranet.example")
    assert refuse_url("http://127.0.0.1:9000/", settings.webhook_allow_list()) is None
    assert NotifierSettings().webhook_allow_list() == AllowList()
    with pytest.raises(ValidationError, match="webhook_allow"):
        NotifierSettings(webhook_allow="10.1.0.1/16")
