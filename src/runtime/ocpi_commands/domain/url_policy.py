"""Guard on ``response_url``: the CPO POSTs to a URL a partner chose, so it must not be a way into our network.

One parser (:func:`parse_response_url`) reads the URL once; its result is what the policy checks and
what the connection uses (scheme, host, port, request target), so the check and the connection can
never read two different hosts out of one string.

* Syntax (always): an absolute ``http``/``https`` URL of printable ASCII; no userinfo (``@``); a host
  that is a DNS name (letters, digits, ``-``, ``_``, non-empty labels), a dotted-quad IPv4 address or
  a bracketed IPv6 address. Anything else in the host is refused: backslash, ``%`` (also IPv6 zone
  ids), whitespace, control characters, and numeric forms that are not a valid IP literal
  (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``: a host whose last label is a number).
* Policy :data:`STRICT` (the default, every deployed stack): ``https`` only, public addresses only.
  :data:`LOCAL` (``make run`` and the tests that call a local receiver): ``http`` too, and loopback
  addresses besides public ones; every other private, link-local, shared or reserved address is
  refused there as well.
* An IPv6 address that embeds an IPv4 address (IPv4-mapped ``::ffff:0:0/96``, SIIT
  ``::ffff:0:0:0/96``, IPv4-compatible ``::/96``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is
  judged by the IPv4 address it embeds.
* When the command arrives, literal addresses and local names are checked; before every delivery
  attempt, every address the host resolves to (:func:`checked_address`): a name that does not resolve
  is not POSTed to, and the POST goes to the address that was checked.
* A party may have an allow-list of hosts (``host`` or ``*.domain``).
"""

import ipaddress
import re
from collections.abc import Iterable
from typing import NamedTuple

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)(?P<rest>[?#].*)?")
_HOST_CHARS = re.compile(r"[a-z0-9._-]+")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_IPV6_CHARS = re.compile(r"[0-9a-f:.]+")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "instance-data")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")

# IPv6 prefixes whose addresses carry an IPv4 address in their last 32 bits.
_EMBEDDING_PREFIXES = (
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # SIIT (RFC 6145)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated, RFC 4291)
)


class ResponseUrlRefused(ValueError):
    """The response_url may not be used; the message says why."""


class UrlPolicy(NamedTuple):
    """Which response URLs are acceptable besides public ``https`` ones."""

    allow_http: bool = False
    allow_loopback: bool = False


STRICT = UrlPolicy()
LOCAL = UrlPolicy(allow_http=True, allow_loopback=True)
POLICIES = {"strict": STRICT, "local": LOCAL}  # by the name the RESPONSE_URL_POLICY setting uses


class ParsedUrl(NamedTuple):
    """A response_url as the one parser read it: what is checked is what is connected to."""

    scheme: str  # "http" | "https"
    host: str  # lower-case DNS name, dotted-quad IPv4, or IPv6 without brackets
    port: int
    target: str  # path and query, exactly as received ("/" when the URL has no path)
    ip: IpAddress | None  # the host, when it is an IP literal

    @property
    def host_header(self) -> str:
        """The ``Host`` header (and the name the TLS certificate must be valid for, without the port)."""
        host = f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _refuse(reason: str) -> ResponseUrlRefused:
    return ResponseUrlRefused(f"response_url {reason}")


def _parse_host(host: str) -> tuple[str, IpAddress | None]:
    if host.startswith("["):
        literal = host[1:-1].lower() if host.endswith("]") else ""
        if not literal or not _IPV6_CHARS.fullmatch(literal):
            raise _refuse("has an invalid IPv6 literal (zone ids and IPvFuture are not accepted)")
        try:
            return literal, ipaddress.IPv6Address(literal)
        except ValueError:
            raise _refuse("has an invalid IPv6 literal") from None
    host = host.lower()
    if not host:
        raise _refuse("has no host")
    if not _HOST_CHARS.fullmatch(host):
        bad = next(ch for ch in host if not _HOST_CHARS.fullmatch(ch))
        shown = "a backslash" if bad == "\\" else repr(bad)
        raise _refuse(f"host has a character a host name may not have ({shown})")
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            return host, ipaddress.IPv4Address(host)
        except ValueError:
            raise _refuse("host is a numeric form that is not a valid IP address (use dotted-quad IPv4)") from None
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _refuse("host is not a valid host name (empty, overlong or hyphen-edged label)")
    return host, None


def parse_response_url(url: str) -> ParsedUrl:
    """Read ``url`` once, strictly (RFC 3986, narrowed to what an HTTP client can connect to unambiguously)."""
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in url):
        raise _refuse("must be printable ASCII without whitespace")
    match = _URL.fullmatch(url)
    scheme = match["scheme"].lower() if match else ""
    if match is None or scheme not in _DEFAULT_PORTS:
        raise _refuse("must be an absolute http(s) URL")
    authority, rest = match["authority"], match["rest"] or ""
    if "@" in authority:
        raise _refuse("must not contain credentials (userinfo)")
    if "#" in rest:
        raise _refuse("must not have a fragment (#...): it is never sent")
    if _PERCENT.search(match["path"] + rest):
        raise _refuse("has an invalid percent-encoding")
    if authority.startswith("[") and "]" not in authority:
        raise _refuse("has an invalid IPv6 literal")
    host_part, port_text = authority, ""
    closing = authority.rfind("]")
    colon = authority.find(":", closing + 1)
    if colon >= 0:
        host_part, port_text = authority[:colon], authority[colon + 1 :]
    if port_text or colon >= 0:
        if not (port_text.isdigit() and port_text.isascii() and len(port_text) <= 5 and 0 < int(port_text) < 65536):
            raise _refuse("has an invalid port")
    host, ip = _parse_host(host_part)
    port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    return ParsedUrl(scheme, host, port, (match["path"] or "/") + rest, ip)


def embedded_ipv4(ip: IpAddress) -> IpAddress:
    """The address that a connection to ``ip`` reaches, for the IPv6 forms that embed an IPv4 address."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in prefix for prefix in _EMBEDDING_PREFIXES) and int(ip) > 1:  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _kind(ip: IpAddress) -> str:
    if ip in _SHARED:
        return "shared"
    for attribute in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{attribute}"):
            return attribute.replace("_", "-")
    return "non-public"


def check_address(address: IpAddress | str, policy: UrlPolicy) -> IpAddress:
    """Refuse an address the policy does not allow (returns it, parsed, when allowed)."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        raise _refuse(f"resolves to something that is not an IP address ({str(address)[:64]})") from None
    reached = embedded_ipv4(ip)
    if reached.is_global and not reached.is_multicast and not reached.is_reserved:
        return ip
    if policy.allow_loopback and reached.is_loopback:
        return ip
    shown = f"{ip}" if reached == ip else f"{ip}, which embeds {reached}"
    raise _refuse(f"points to a {_kind(reached)} address ({shown})")


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed_hosts:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*.") and (host.endswith(pattern[1:]) or host == pattern[2:]):
            return True
        if host == pattern:
            return True
    return False


def _is_loopback_name(host: str) -> bool:
    return host in _LOOPBACK_NAMES or host.endswith(".localhost")


def check_response_url(url: str, policy: UrlPolicy, allowed_hosts: tuple[str, ...] = ()) -> ParsedUrl:
    """The parsed ``url`` when it may receive a CommandResult; else :class:`ResponseUrlRefused`."""
    parsed = parse_response_url(url)
    if parsed.scheme != "https" and not policy.allow_http:
        raise _refuse("must use https")
    if allowed_hosts and not host_allowed(parsed.host, allowed_hosts):
        raise _refuse(f"host {parsed.host} is not in this party's allow-list")
    if parsed.ip is not None:
        check_address(parsed.ip, policy)
    elif policy.allow_loopback and _is_loopback_name(parsed.host):
        pass  # resolved and checked before each delivery attempt
    elif parsed.host in _LOCAL_NAMES or parsed.host.endswith(_LOCAL_SUFFIXES) or "." not in parsed.host:
        raise _refuse("points to a local host name")
    return parsed


def checked_address(parsed: ParsedUrl, addresses: Iterable[str], policy: UrlPolicy) -> str:
    """At delivery: the address to connect to, once every address the host resolved to is allowed."""
    found = [address.split("%", 1)[0] for address in addresses]
    if not found:
        raise _refuse(f"host {parsed.host} does not resolve")
    for address in found:
        check_address(address, policy)
    return found[0]
