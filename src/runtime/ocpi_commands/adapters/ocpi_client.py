"""OCPI requests to partners (versions, version details, credentials; commands from the eMSP side) and to
the CPO platform's own Sender interface (the pull of Locations and Sessions: :meth:`HttpOcpiClient.get_page`).

Every request goes through the outbound guard the CommandResults use: the URL policy (https and
public addresses outside the local policy) and the resolved addresses checked before connecting. No
redirect is followed; every request has connect and read timeouts and reads at most 1 MiB (or the
``max_answer_bytes`` given).
"""

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import urllib3

from ocpi_commands.adapters.http import resolve_host
from ocpi_commands.domain.credentials import OcpiReply
from ocpi_commands.domain.ports import PlatformPage
from ocpi_commands.domain.url_policy import (
    ParsedUrl,
    ResponseUrlRefused,
    UrlPolicy,
    check_response_url,
    checked_address,
)
from ocpi_commands.ocpi.envelope import Header

MAX_ANSWER_BYTES = 1024 * 1024


class HttpOcpiClient:
    """Pinned like the CommandResults' POSTs: the URL is parsed once, its host resolved and every
    address checked before each request, and the connection goes to a checked address with the URL's
    Host header and TLS server name."""

    def __init__(
        self,
        connect_timeout: float,
        read_timeout: float,
        policy: UrlPolicy,
        resolver: Callable[[str, int], list[str]] = resolve_host,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ):
        self.policy = policy
        self.resolver = resolver
        self.max_answer_bytes = max_answer_bytes
        self.pool = urllib3.PoolManager(
            num_pools=20, maxsize=2, retries=False, timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        )

    def _target(self, url: str) -> tuple[ParsedUrl, str] | str:
        """The parsed URL and the checked address to connect to, or why it may not be called."""
        try:
            parsed = check_response_url(url, self.policy)
            if parsed.ip is not None:
                return parsed, str(parsed.ip)
            return parsed, checked_address(parsed, self.resolver(parsed.host, parsed.port), self.policy)
        except ResponseUrlRefused as exc:
            return f"refused by the outbound policy: {exc}"
        except OSError:
            return "the host does not resolve"

    def call(
        self, method: str, url: str, authorization: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> OcpiReply:
        return self._exchange(method, url, authorization, body, headers)[0]

    def get_page(self, url: str, authorization: str, headers: Mapping[str, str]) -> PlatformPage:
        """GET one page of an OCPI list (``url`` used verbatim: a ``Link`` is followed as given), with the
        pagination headers: ``Link`` rel="next", ``X-Total-Count`` and ``X-Limit``."""
        reply, answered = self._exchange("GET", url, authorization, None, dict(headers))
        return PlatformPage(
            reply.http_status,
            reply.status_code,
            reply.data,
            reply.error,
            next_url=next_link(answered.get("link")),
            total_count=_int(answered.get("x-total-count")),
            limit=_int(answered.get("x-limit")),
        )

    def _exchange(
        self, method: str, url: str, authorization: str, body: Any, headers: dict[str, str] | None
    ) -> tuple[OcpiReply, dict[str, str]]:
        target = self._target(url)
        if isinstance(target, str):
            return OcpiReply(None, error=f"{url}: {target}"), {}
        parsed, address = target
        sent = {
            "Authorization": authorization,
            Header.REQUEST_ID: str(uuid.uuid4()),
            Header.CORRELATION_ID: str(uuid.uuid4()),
            **(headers or {}),
            "Host": parsed.host_header,
        }
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            sent["Content-Type"] = "application/json"
        tls = {"server_hostname": parsed.host} if parsed.scheme == "https" else None
        try:
            pool = self.pool.connection_from_host(address, parsed.port, parsed.scheme, pool_kwargs=tls)
            response = pool.urlopen(
                method,
                parsed.target,
                body=payload,
                headers=sent,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return OcpiReply(None, error=f"{method} {url}: {type(exc).__name__}"), {}
        try:
            raw = response.read(self.max_answer_bytes, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return OcpiReply(None, error=f"{method} {url}: reading the answer failed ({type(exc).__name__})"), {}
        finally:
            response.release_conn()
        # A header sent several times (Link may be) is read as its values joined by commas (RFC 9110).
        answered = {name.lower(): str(response.headers.get(name, "")) for name in response.headers}
        return parse_envelope(response.status, raw), answered


def parse_envelope(status: int, raw: bytes) -> OcpiReply:
    """The OCPI envelope of an answer, or why it is none."""
    if 300 <= status < 400:
        return OcpiReply(status, error=f"HTTP {status}: redirects are not followed")
    try:
        envelope = json.loads(raw)
    except ValueError:
        return OcpiReply(status, error=f"HTTP {status}: the answer is not JSON")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("status_code"), int):
        return OcpiReply(status, error=f"HTTP {status}: the answer is not an OCPI envelope")
    message = envelope.get("status_message")
    return OcpiReply(
        status, envelope["status_code"], envelope.get("data"), message if isinstance(message, str) else None
    )


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_NEXT = re.compile(r'rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)


def next_link(header: str | None) -> str | None:
    """The URL of the ``rel="next"`` link of a ``Link`` header (RFC 8288), verbatim, if any."""
    for target, params in _LINK.findall(header or ""):
        for rel in _NEXT.findall(params):
            if "next" in rel.lower().split():
                return target.strip()
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
