"""Per-process dependencies of the lifecycle functions, built lazily once and reused while warm."""

import time
from functools import lru_cache
from typing import Any

from ocpi_commands import aws
from ocpi_commands.config import get_settings
from ocpi_commands.dal.repository import Repository
from ocpi_commands.domain.delivery import Deliverer
from ocpi_commands.domain.lifecycle import Lifecycle, TaskTokens
from ocpi_commands.domain.models import Party, PartyRef


class PartyCache:
    """Outbound credentials per party, cached for the credentials TTL (rotations apply within it)."""

    def __init__(self, repository: Repository, ttl_seconds: float):
        self.repository = repository
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Party | None]] = {}

    def get(self, ref: PartyRef) -> Party | None:
        now = time.monotonic()
        entry = self._entries.get(ref.key)
        if entry is not None and entry[0] > now:
            return entry[1]
        party = self.repository.get_party(ref)
        self._entries[ref.key] = (now + self.ttl, party)
        return party


@lru_cache(maxsize=1)
def repository() -> Repository:
    return Repository(get_settings().table_name)


@lru_cache(maxsize=1)
def lifecycle() -> Lifecycle:
    settings = get_settings()
    repo = repository()
    parties = PartyCache(repo, settings.credentials_cache_ttl_seconds)
    deliverer = Deliverer(repo, settings, parties.get)
    return Lifecycle(repo, settings, deliverer, TaskTokens(lambda: aws.client("stepfunctions")))


def reset() -> None:
    repository.cache_clear()
    lifecycle.cache_clear()


def is_dependency_error(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (BotoCoreError, ClientError))


class DependencyUnavailable(Exception):
    """An AWS dependency failed; Step Functions retries the task (see the ASL Retry)."""


def event_detail(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail")
    return detail if isinstance(detail, dict) else {}
