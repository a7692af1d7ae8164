"""Secrets Manager: the token the CPO platform issued to this module, for its Sender interface.

The secret is the token itself (SecretString), or a JSON object with a ``token`` field. It is read
again after ``ttl_seconds``, so a rotated secret is picked up by warm functions; it is never logged.
"""

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from ocpi_commands.adapters import aws


class SecretUnavailable(RuntimeError):
    """No secret is configured, or it holds no token."""


class SecretToken:
    def __init__(
        self,
        secret_id: str | None,
        ttl_seconds: float = 300.0,
        client: Callable[[], Any] = lambda: aws.client("secretsmanager"),
    ):
        self.secret_id = secret_id
        self.ttl = ttl_seconds
        self._client = client
        self._cached: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        if not self.secret_id:
            raise SecretUnavailable("no PlatformTokenSecretArn: the platform cannot be pulled")
        with self._lock:
            if self._cached is not None and self._cached[0] > time.monotonic():
                return self._cached[1]
            value = self._client().get_secret_value(SecretId=self.secret_id).get("SecretString") or ""
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            token = str(parsed.get("token") or "") if isinstance(parsed, dict) else value.strip()
            if not token:
                raise SecretUnavailable(f"the secret {self.secret_id} holds no token")
            self._cached = (time.monotonic() + self.ttl, token)
            return token
