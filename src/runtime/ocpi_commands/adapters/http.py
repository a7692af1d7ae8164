"""Outbound HTTP: POSTs with pooled connections and timeouts (urllib3, shipped with botocore).

The connection goes to the address the delivery checked (pinned), never to a name resolved again:
the ``Host`` header, the TLS server name (SNI) and the certificate check stay those of the
response_url's host, so DNS cannot change between the check and the connection.
"""

import socket
from collections.abc import Mapping
from typing import Any

import urllib3

from ocpi_commands.domain.ports import HttpAnswer
from ocpi_commands.domain.url_policy import ParsedUrl

MAX_ANSWER_BYTES = 64 * 1024


class Urllib3Poster:
    """Connections are pooled per process (reused across warm invocations) per address, port and TLS
    server name; every POST has a connect and a read timeout and never follows a redirect."""

    def __init__(self, connect_timeout: float, read_timeout: float, ca_certs: str | None = None):
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        pool_options: dict[str, Any] = {"ca_certs": ca_certs} if ca_certs else {}
        self.pool = urllib3.PoolManager(num_pools=50, maxsize=4, retries=False, timeout=self.timeout, **pool_options)

    def post(self, url: ParsedUrl, address: str, body: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        # For https the certificate must be valid for the URL's host, sent as the TLS server name.
        tls = {"server_hostname": url.host} if url.scheme == "https" else None
        try:
            pool = self.pool.connection_from_host(address, url.port, url.scheme, pool_kwargs=tls)
            response = pool.urlopen(
                "POST",
                url.target,
                body=body,
                headers={**headers, "Host": url.host_header},
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
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


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, for the address families this host can reach (raises
    OSError when it does not resolve)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
