"""The client's IP address behind reverse proxies, for rate limits and logs.

X-Forwarded-For is written by whoever sends the request, so only the hops appended by proxies we trust mean
anything: the header is read from the right, past our own proxies, and the first address they did not vouch
for is the client. Anything a client put further left is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted(entries: Iterable[str]) -> tuple[Network, ...]:
    """The trusted proxies of the settings ("10.0.0.0/8", "127.0.0.1", "::1"), checked once at start-up so that
    a typo fails loudly instead of silently trusting nothing (or too much). Blank entries are skipped."""
    networks: list[Network] = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            net = ipaddress.ip_network(text)
        except ValueError as exc:
            raise ValueError(f"trusted proxy {entry!r} is not an IP address or network: {exc}") from None
        mapped = net.network_address.ipv4_mapped if isinstance(net, ipaddress.IPv6Network) else None
        if mapped is not None and net.prefixlen >= 96:
            # ::ffff:10.0.0.0/104 is 10.0.0.0/8: addresses are compared after the same normalisation.
            net = ipaddress.IPv4Network((mapped, net.prefixlen - 96))
        networks.append(net)
    return tuple(networks)


def _parse(text: str) -> Address | None:
    """An address as proxies write it ("1.2.3.4", "1.2.3.4:5678", "::1", "[::1]:80"), or None if it is not one."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1 :]
        if rest and not (rest[0] == ":" and rest[1:].isdigit()):
            return None
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has at least two colons
        host, _, port = text.partition(":")
        if not port.isdigit():
            return None
    else:
        host = text
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: Address, trusted: tuple[Network, ...]) -> bool:
    return any(ip in net for net in trusted)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the direct peer unless it is a trusted proxy, then the right-most X-Forwarded-For
    hop that is not one of ours. Never a string a client chose that is not an IP address; "" without a peer.

    `forwarded_for` is the header's value, several headers joined with ",".
    """
    if not peer:
        return ""
    peer_ip = _parse(peer)
    if peer_ip is None:
        return peer.strip()  # not an IP (a test client's name, say): the server named it, not the client
    if not forwarded_for or not _trusted(peer_ip, trusted):
        return str(peer_ip)
    last_good = peer_ip
    for hop in reversed(forwarded_for.split(",")):
        ip = _parse(hop)
        if ip is None:
            break  # garbage: a trusted proxy would not write it, so everything from here left is the client's
        last_good = ip
        if not _trusted(ip, trusted):
            break
    return str(last_good)
