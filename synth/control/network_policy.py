"""Who may steer the synth: loopback always, other senders only when ``--allow`` names them."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

LOCAL_SENDERS = ("127.0.0.1", "::1")


class PolicyError(ValueError):
    """An --allow value or listening address that cannot be used as asked."""


def parse_allowed(values: Sequence[str]) -> tuple[str, ...]:
    """Validate --allow values (addresses or networks such as 192.168.1.0/24)."""
    networks = []
    for value in values:
        try:
            networks.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError as error:
            raise PolicyError(f"--allow {value!r} is not an address or network") from error
    return tuple(networks)


def check_listening_address(host: str, allowed: Sequence[str]) -> str:
    """The IP address to bind for ``host`` (a name such as localhost is looked up);
    listening beyond loopback must come with an explicit list of senders."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = _look_up(host)
    if not address.is_loopback and not allowed:
        raise PolicyError(f"--osc-host {host} exposes the synth to the network; name who may "
                          "send with --allow ADDRESS[/PREFIX] (repeatable)")
    return str(address)


def _look_up(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as error:
        raise PolicyError(f"--osc-host {host!r} is neither an IP address nor a name this "
                          "machine knows") from error
    return ipaddress.ip_address(found[0][4][0])


class SenderPolicy:
    def __init__(self, allowed: Sequence[str]) -> None:
        self._networks = [ipaddress.ip_network(value, strict=False)
                          for value in (*LOCAL_SENDERS, *allowed)]

    def permits(self, sender_address: str) -> bool:
        try:
            address = ipaddress.ip_address(sender_address)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._networks
                   if network.version == address.version)
