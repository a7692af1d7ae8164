"""AWS clients, created lazily through one factory and reused across warm invocations.

boto3 honours ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), which is how the local
emulation and the tests point every client at moto or DynamoDB Local without touching this code.
"""

import threading
from typing import Any

import boto3
from botocore.config import Config

_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    tcp_keepalive=True,
    # The requests are built by this code, not by users; AWS validates them anyway. Client-side
    # validation is ~15 % of the SDK's time per call on the synchronous path (bench/README.md).
    parameter_validation=False,
)

_clients: dict[str, Any] = {}
_session: list[Any] = []  # one boto3 Session: its loader caches the service models across clients
_lock = threading.Lock()


def client(service: str) -> Any:
    """The shared client for ``service`` (thread-safe creation; boto3 clients are thread-safe)."""
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(service)
        if found is None:
            if not _session:
                _session.append(boto3.session.Session())
            found = _session[0].client(service, config=_CLIENT_CONFIG)
            _clients[service] = found
        return found


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints or credentials between sessions)."""
    with _lock:
        _clients.clear()
        _session.clear()


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError``, else ``None``."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None
