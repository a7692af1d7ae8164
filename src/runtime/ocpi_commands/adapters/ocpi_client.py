"""OCPI requests to partners (versions, version details, credentials; commands from the eMSP side).

Every request goes through the outbound guard the CommandResults use: the URL policy (https and
public addresses outside the local policy) and the resolved addresses checked before connecting. No
redirect is followed; every request has connect and read timeouts and reads at most 1 MiB.
"""

import json
import uuid
from collections.abc import Callable
from typing import Any

import urllib3

from ocpi_commands.adapters.http import resolve_host
from ocpi_commands.domain.credentials import OcpiReply
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
    ):
        self.policy = policy
        self.resolver = resolver
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
        target = self._target(url)
        if isinstance(target, str):
            return OcpiReply(None, error=f"{url}: {target}")
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
            return OcpiReply(None, error=f"{method} {url}: {type(exc).__name__}")
        try:
            raw = response.read(MAX_ANSWER_BYTES, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return OcpiReply(None, error=f"{method} {url}: reading the answer failed ({type(exc).__name__})")
        finally:
            response.release_conn()
        return parse_envelope(response.status, raw)


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
