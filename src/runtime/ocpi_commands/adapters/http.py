"""Outbound HTTP: POSTs with pooled connections and timeouts (urllib3, shipped with botocore)."""

import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import urllib3

from ocpi_commands.domain.ports import HttpAnswer

MAX_ANSWER_BYTES = 64 * 1024


class Urllib3Poster:
    """Connections are pooled per process (reused across warm invocations); every POST has a
    connect and a read timeout and never follows a redirect."""

    def __init__(self, connect_timeout: float, read_timeout: float):
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.pool = urllib3.PoolManager(num_pools=50, maxsize=4, retries=False, timeout=self.timeout)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        try:
            response = self.pool.request(
                "POST", url, body=body, headers=dict(headers), redirect=False, preload_content=False, retries=False
            )
        except urllib3.exceptions.SSLError as exc:
            return HttpAnswer(None, error=f"TLS error: {exc}", retryable_error=False)
        except urllib3.exceptions.LocationParseError as exc:
            return HttpAnswer(None, error=f"invalid URL: {exc}", retryable_error=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return HttpAnswer(None, error=f"{type(exc).__name__}: {exc}")
        try:
            data = response.read(MAX_ANSWER_BYTES, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return HttpAnswer(None, error=f"reading the answer failed: {type(exc).__name__}")
        finally:
            response.release_conn()
        return HttpAnswer(response.status, data)


def resolve_host(url: str) -> list[str]:
    """Every address the host of ``url`` resolves to (raises OSError when it does not resolve)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]
