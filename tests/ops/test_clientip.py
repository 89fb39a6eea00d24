from __future__ import annotations

import ipaddress
import re

import pytest

from kefu.ops.clientip import client_ip, parse_trusted

TRUSTED = parse_trusted(["10.0.0.0/8", "127.0.0.1", "::1"])


def test_parse_trusted_accepts_networks_and_addresses() -> None:
    nets = parse_trusted(["10.0.0.0/8", " 127.0.0.1 ", "::1", "", "fd00::/8", "::ffff:192.168.0.0/112"])
    assert nets == (
        ipaddress.IPv4Network("10.0.0.0/8"),
        ipaddress.IPv4Network("127.0.0.1/32"),
        ipaddress.IPv6Network("::1/128"),
        ipaddress.IPv6Network("fd00::/8"),
        ipaddress.IPv4Network("192.168.0.0/16"),  # IPv4-mapped, normalised like the addresses are
    )
    assert parse_trusted([]) == ()


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "localhost", "10.1.2.3/8", "1.2.3.4:80"])
def test_parse_trusted_names_the_bad_entry(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        parse_trusted(["127.0.0.1", bad])


def test_untrusted_peer_ignores_spoofed_forwarded_for() -> None:
    assert client_ip("203.0.113.7", "1.2.3.4", TRUSTED) == "203.0.113.7"
    assert client_ip("203.0.113.7", "10.0.0.1, 127.0.0.1", TRUSTED) == "203.0.113.7"
    assert client_ip("10.0.0.2", "1.2.3.4", ()) == "10.0.0.2"  # nothing trusted: the peer, always


def test_trusted_proxy_gives_right_most_untrusted_hop() -> None:
    # The client claimed 6.6.6.6; our proxy at 10.0.0.2 appended the address it saw.
    assert client_ip("10.0.0.2", "6.6.6.6, 198.51.100.4", TRUSTED) == "198.51.100.4"
    assert client_ip("10.0.0.2", "198.51.100.4", TRUSTED) == "198.51.100.4"


def test_chain_of_trusted_proxies_is_skipped() -> None:
    xff = "6.6.6.6, 198.51.100.4, 10.1.2.3, 127.0.0.1"
    assert client_ip("10.0.0.2", xff, TRUSTED) == "198.51.100.4"
    # Several X-Forwarded-For headers, joined with ",".
    assert client_ip("127.0.0.1", "6.6.6.6,198.51.100.4" + "," + "10.9.9.9", TRUSTED) == "198.51.100.4"


def test_all_trusted_gives_the_left_most_valid_hop() -> None:
    assert client_ip("10.0.0.2", "10.0.0.9, 10.0.0.8", TRUSTED) == "10.0.0.9"
    assert client_ip("10.0.0.2", "garbage, 10.0.0.9, 10.0.0.8", TRUSTED) == "10.0.0.9"


@pytest.mark.parametrize(
    ("xff", "expected"),
    [
        ("1.2.3.4, evil, 10.0.0.3", "10.0.0.3"),  # stops at the garbage: the last good hop
        ("<script>", "10.0.0.2"),  # garbage right away: the peer
        ("unknown, 10.0.0.3", "10.0.0.3"),
        ("1.2.3.4, , 10.0.0.3", "10.0.0.3"),  # an empty item is not an address either
        ("1.2.3.4:abc", "10.0.0.2"),
        ("[2001:db8::1]x", "10.0.0.2"),
        ("[2001:db8::1", "10.0.0.2"),
        ("999.1.1.1", "10.0.0.2"),
    ],
)
def test_garbage_stops_the_walk(xff: str, expected: str) -> None:
    assert client_ip("10.0.0.2", xff, TRUSTED) == expected


def test_ipv6() -> None:
    assert client_ip("::1", "2001:DB8:0::1", TRUSTED) == "2001:db8::1"
    assert client_ip("2001:db8::7", "1.2.3.4", TRUSTED) == "2001:db8::7"
    assert client_ip("::1", "2001:db8::1, ::1", TRUSTED) == "2001:db8::1"


def test_ipv4_mapped_ipv6_is_normalised() -> None:
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; they must match the IPv4 trusted networks.
    assert client_ip("::ffff:10.0.0.2", "::ffff:198.51.100.4", TRUSTED) == "198.51.100.4"
    assert client_ip("::ffff:203.0.113.7", "1.2.3.4", TRUSTED) == "203.0.113.7"


def test_ports_are_stripped() -> None:
    assert client_ip("10.0.0.2", "198.51.100.4:5678", TRUSTED) == "198.51.100.4"
    assert client_ip("10.0.0.2", "[2001:db8::1]:443", TRUSTED) == "2001:db8::1"
    assert client_ip("10.0.0.2", "[2001:db8::1]", TRUSTED) == "2001:db8::1"
    assert client_ip("10.0.0.2", "198.51.100.4, 127.0.0.1:8080", TRUSTED) == "198.51.100.4"
    assert client_ip("[::1]:80", "198.51.100.4", TRUSTED) == "198.51.100.4"
    assert client_ip("203.0.113.7:5000", None, TRUSTED) == "203.0.113.7"


def test_empty() -> None:
    assert client_ip(None, None, TRUSTED) == ""
    assert client_ip("", "1.2.3.4", TRUSTED) == ""  # no peer: no proxy to vouch for the header
    assert client_ip("10.0.0.2", "", TRUSTED) == "10.0.0.2"
    assert client_ip("10.0.0.2", None, TRUSTED) == "10.0.0.2"
    assert client_ip("10.0.0.2", " ", TRUSTED) == "10.0.0.2"


def test_peer_that_is_not_an_ip_is_kept() -> None:
    # The server names the peer (Starlette's TestClient says "testclient"); no header can replace it.
    assert client_ip("testclient", "1.2.3.4", TRUSTED) == "testclient"
