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
from ocpi_commands.domain.url_policy import ResponseUrlRefused, check_resolved_addresses, check_response_url
from ocpi_commands.ocpi.envelope import Header

MAX_ANSWER_BYTES = 1024 * 1024


class HttpOcpiClient:
    def __init__(
        self,
        connect_timeout: float,
        read_timeout: float,
        allow_insecure: bool,
        allow_private: bool,
        resolver: Callable[[str], list[str]] = resolve_host,
    ):
        self.allow_insecure = allow_insecure
        self.allow_private = allow_private
        self.resolver = resolver
        self.pool = urllib3.PoolManager(
            num_pools=20, maxsize=2, retries=False, timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        )

    def _refusal(self, url: str) -> str | None:
        try:
            check_response_url(url, allow_insecure=self.allow_insecure, allow_private=self.allow_private)
            if not self.allow_private:
                check_resolved_addresses(self.resolver(url), allow_private=False)
        except ResponseUrlRefused as exc:
            return f"refused by the outbound policy: {exc}"
        except OSError:
            return "the host does not resolve"
        return None

    def call(
        self, method: str, url: str, authorization: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> OcpiReply:
        refusal = self._refusal(url)
        if refusal is not None:
            return OcpiReply(None, error=f"{url}: {refusal}")
        sent = {
            "Authorization": authorization,
            Header.REQUEST_ID: str(uuid.uuid4()),
            Header.CORRELATION_ID: str(uuid.uuid4()),
            **(headers or {}),
        }
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            sent["Content-Type"] = "application/json"
        try:
            response = self.pool.request(
                method, url, body=payload, headers=sent, redirect=False, preload_content=False, retries=False
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
