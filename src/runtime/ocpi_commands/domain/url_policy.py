"""Guard on ``response_url``: the CPO POSTs to a URL a partner chose, so it must not be a way into our network.

* ``https`` is required outside the local stages (configurable).
* Loopback, private, link-local, shared, reserved and cloud metadata addresses are refused unless
  configured, both when the command arrives (literal addresses and local names) and when the result is
  delivered (every address the host name resolves to, see :func:`check_resolved_addresses`).
* A party may have an allow-list of hosts (``host`` or ``*.domain``).
"""

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "instance-data")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class ResponseUrlRefused(ValueError):
    """The response_url may not be used; the message says why."""


def _as_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if not _NUMERIC_HOST.match(host):
            return None
        try:  # inet_aton reads the forms a resolver would: 2130706433, 0x7f.1, 0177.0.0.1
            ip = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            raise ResponseUrlRefused("response_url has an invalid numeric host") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed_hosts:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*.") and (host.endswith(pattern[1:]) or host == pattern[2:]):
            return True
        if host == pattern:
            return True
    return False


def check_response_url(
    url: str, *, allow_insecure: bool, allow_private: bool, allowed_hosts: tuple[str, ...] = ()
) -> None:
    """Raise :class:`ResponseUrlRefused` when ``url`` may not receive a CommandResult."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_insecure and scheme == "http"):
        raise ResponseUrlRefused("response_url must use https")
    if parts.username is not None or parts.password is not None:
        raise ResponseUrlRefused("response_url must not contain credentials")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ResponseUrlRefused("response_url has no host")
    if allowed_hosts and not host_allowed(host, allowed_hosts):
        raise ResponseUrlRefused(f"response_url host {host} is not in this party's allow-list")
    if allow_private:
        return
    ip = _as_ip(host)
    if ip is not None:
        if not _is_public(ip):
            raise ResponseUrlRefused("response_url points to a loopback, private or reserved address")
        return
    if host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
        raise ResponseUrlRefused("response_url points to a local host name")


def check_resolved_addresses(addresses: Iterable[str], *, allow_private: bool) -> None:
    """At delivery: refuse a host whose name resolves to a non-public address (DNS rebinding)."""
    if allow_private:
        return
    for address in addresses:
        ip = _as_ip(address.split("%", 1)[0])
        if ip is None or not _is_public(ip):
            raise ResponseUrlRefused(f"response_url resolves to a non-public address ({address})")
