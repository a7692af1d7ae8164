"""The composition root: builds the object graph lazily, once per process, from the settings.

Handlers ask this module for the services they call; adapters are chosen here and nowhere else.
Tests and the local emulation change the environment and call :func:`reset`, the one place every
process-wide cache is cleared.
"""

import threading
import time
from functools import cached_property

from ocpi_commands import config
from ocpi_commands.adapters import aws
from ocpi_commands.adapters.dynamodb.repository import DynamoRepository
from ocpi_commands.adapters.dynamodb.sent_commands import DynamoSentCommands
from ocpi_commands.adapters.eventbridge import EventBridgePublisher
from ocpi_commands.adapters.http import Urllib3Poster, resolve_host
from ocpi_commands.adapters.ocpi_client import HttpOcpiClient
from ocpi_commands.adapters.stepfunctions import StepFunctionsExecutions, StepFunctionsTaskTokens
from ocpi_commands.config import Settings
from ocpi_commands.domain.auth import CredentialsCache
from ocpi_commands.domain.credentials import CredentialsService, OurSide
from ocpi_commands.domain.delivery import Deliverer
from ocpi_commands.domain.lifecycle import Lifecycle
from ocpi_commands.domain.model import CredentialsRole, Party, PartyRef
from ocpi_commands.domain.ports import PartyStore
from ocpi_commands.domain.receiving import CommandService
from ocpi_commands.domain.sending import EmspService
from ocpi_commands.domain.sent_lifecycle import SentLifecycle
from ocpi_commands.domain.url_policy import POLICIES
from ocpi_commands.ocpi.credentials_wire import OcpiCredentialsWire


def settings() -> Settings:
    return config.get_settings()


class PartyCache:
    """Outbound credentials per party, cached for the credentials TTL (rotations apply within it)."""

    def __init__(self, parties: PartyStore, ttl_seconds: float):
        self.parties = parties
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Party | None]] = {}

    def get(self, ref: PartyRef) -> Party | None:
        now = time.monotonic()
        entry = self._entries.get(ref.key)
        if entry is not None and entry[0] > now:
            return entry[1]
        party = self.parties.get_party(ref)
        self._entries[ref.key] = (now + self.ttl, party)
        return party


class _Graph:
    """The services built from one ``Settings``; each is created on first use."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def repository(self) -> DynamoRepository:
        return DynamoRepository(self.settings.table_name)

    @cached_property
    def command_service(self) -> CommandService:
        return CommandService(self.repository, self.repository, self.settings)

    @cached_property
    def credentials_cache(self) -> CredentialsCache:
        return CredentialsCache(self.settings.credentials_cache_ttl_seconds)

    @cached_property
    def publisher(self) -> EventBridgePublisher:
        return EventBridgePublisher(self.settings.event_bus_name, self.settings.event_source)

    @cached_property
    def deliverer(self) -> Deliverer:
        from ocpi_commands.ocpi import dialects

        current = self.settings
        return Deliverer(
            self.repository,
            current,
            PartyCache(self.repository, current.credentials_cache_ttl_seconds).get,
            Urllib3Poster(current.delivery_connect_timeout_seconds, current.delivery_read_timeout_seconds),
            resolve_host,
            dialects.RESULT_WIRE,
        )

    @cached_property
    def ocpi_client(self) -> HttpOcpiClient:
        current = self.settings
        return HttpOcpiClient(
            current.delivery_connect_timeout_seconds,
            current.delivery_read_timeout_seconds,
            POLICIES[current.response_url_policy],
        )

    @cached_property
    def credentials_wire(self) -> OcpiCredentialsWire:
        return OcpiCredentialsWire()

    @cached_property
    def credentials_service(self) -> CredentialsService:
        return CredentialsService(self.repository, self.ocpi_client, self.credentials_wire, required_endpoints)

    @cached_property
    def sent_commands(self) -> DynamoSentCommands:
        return DynamoSentCommands(self.settings.table_name)

    @cached_property
    def emsp_service(self) -> EmspService:
        from ocpi_commands.ocpi import dialects

        return EmspService(
            self.sent_commands,
            self.repository,
            self.ocpi_client,
            dialects.SEND_WIRE,
            self.settings,
        )

    @cached_property
    def sent_lifecycle(self) -> SentLifecycle:
        from ocpi_commands.ocpi import dialects

        return SentLifecycle(self.sent_commands, dialects.SEND_WIRE, StepFunctionsTaskTokens())

    @cached_property
    def emsp_executions(self) -> StepFunctionsExecutions:
        return StepFunctionsExecutions(self.settings.emsp_state_machine_arn)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(
            self.repository,
            self.settings,
            self.deliverer,
            StepFunctionsTaskTokens(),
            self.publisher,
            StepFunctionsExecutions(self.settings.state_machine_arn),
        )


_graph: list[_Graph] = []
_lock = threading.Lock()


def _current() -> _Graph:
    """The graph of the current settings (rebuilt when the settings were reloaded)."""
    current = settings()
    graph = _graph[0] if _graph else None
    if graph is None or graph.settings is not current:
        with _lock:
            graph = _graph[0] if _graph else None
            if graph is None or graph.settings is not current:
                graph = _Graph(current)
                _graph[:] = [graph]
    return graph


def repository() -> DynamoRepository:
    return _current().repository


def command_service() -> CommandService:
    return _current().command_service


def credentials_cache() -> CredentialsCache:
    return _current().credentials_cache


def publisher() -> EventBridgePublisher:
    return _current().publisher


def deliverer() -> Deliverer:
    return _current().deliverer


def lifecycle() -> Lifecycle:
    return _current().lifecycle


def credentials_service() -> CredentialsService:
    return _current().credentials_service


def credentials_wire() -> OcpiCredentialsWire:
    return _current().credentials_wire


def ocpi_client() -> HttpOcpiClient:
    return _current().ocpi_client


def sent_commands() -> DynamoSentCommands:
    return _current().sent_commands


def emsp_service() -> EmspService:
    return _current().emsp_service


def sent_lifecycle() -> SentLifecycle:
    return _current().sent_lifecycle


def emsp_executions() -> StepFunctionsExecutions:
    return _current().emsp_executions


def required_endpoints(roles: tuple[CredentialsRole, ...], version: str) -> list[tuple[str, str | None]]:
    """What a partner must offer in its version details (else 3003): every platform its credentials."""
    return [("credentials", None)]


def our_side(base_url: str, partner_role: str | None = None) -> OurSide:
    """What we tell partners: the versions offered, our versions URL, a role per party we are (the
    role that complements the partner's first: 2.1.1 Credentials name one party)."""
    current = settings()
    return OurSide(current.ocpi_versions, f"{base_url}/ocpi/versions", current.our_roles(partner_role))


def reset() -> None:
    """Forget every process-wide cache: settings, AWS clients, the services and their caches."""
    config.reset_settings()
    aws.reset_clients()
    with _lock:
        _graph.clear()
