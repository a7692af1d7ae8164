"""Loading functions: parties, OCPI Locations and Sessions, simulator behaviour (seed files, CLI, tests).

Every error names the record and the field, e.g. ``locations[2] (id LOC9): evses.0.uid: Field required``.
"""

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ocpi_commands.adapters.dynamodb.repository import DynamoRepository
from ocpi_commands.domain.auth import token_sha256
from ocpi_commands.domain.model import (
    DEFAULT_PERMISSIONS,
    CredentialsStatus,
    Endpoint,
    NetworkLocation,
    Party,
    PartyRef,
    PartyRole,
    Reservation,
    SessionRecord,
)
from ocpi_commands.ocpi.types import URL, DateTime
from ocpi_commands.ocpi.v2_2_1.commands import CommandType
from ocpi_commands.ocpi.v2_2_1.locations import Location
from ocpi_commands.ocpi.v2_2_1.sessions import Session
from ocpi_commands.simulator import Behaviour

DEFAULT_BASE_URL = "http://127.0.0.1:3000"


class LoadError(ValueError):
    """A record could not be loaded; the message says which record and which field."""


class EndpointSpec(BaseModel):
    """A partner's module endpoint (its version details); ``{api}`` in the URL is the local API's base URL."""

    model_config = ConfigDict(extra="forbid")

    identifier: str = Field(min_length=1, max_length=32)
    role: Literal["SENDER", "RECEIVER"] | None = None
    url: str = Field(min_length=1, max_length=255)


class PartySpec(BaseModel):
    """A party as written in a seed file or given to the CLI (tokens in clear, hashed on load)."""

    model_config = ConfigDict(extra="forbid")

    country_code: str = Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")
    party_id: str = Field(min_length=3, max_length=3, pattern=r"^[A-Za-z0-9]{3}$")
    role: PartyRole = PartyRole.EMSP
    name: str | None = None
    token: str = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")
    credentials_status: CredentialsStatus = CredentialsStatus.REGISTERED
    outbound_token: str | None = Field(default=None, max_length=64, pattern=r"^[\x21-\x7E]+$")
    legacy_token_encoding: bool = False
    permissions: list[CommandType] | None = None
    allowed_response_url_hosts: list[str] = []
    hub_clients: list[str] = []
    ocpi_version: Literal["2.1.1", "2.2.1", "2.3.0"] = "2.2.1"
    # A CPO partner of our eMSP side: where its commands endpoint is.
    endpoints: list[EndpointSpec] = []

    def to_party(self, base_url: str = DEFAULT_BASE_URL) -> Party:
        return Party(
            ref=PartyRef(country_code=self.country_code.upper(), party_id=self.party_id.upper()),
            role=self.role,
            name=self.name,
            token_sha256=token_sha256(self.token),
            credentials_status=self.credentials_status,
            outbound_token=self.outbound_token,
            # 2.1.1 peers send their token raw, and get ours raw.
            legacy_token_encoding=self.legacy_token_encoding or self.ocpi_version == "2.1.1",
            permissions=frozenset(self.permissions) if self.permissions is not None else DEFAULT_PERMISSIONS,
            allowed_response_url_hosts=tuple(self.allowed_response_url_hosts),
            hub_clients=tuple(c.upper() for c in self.hub_clients),
            ocpi_version=self.ocpi_version,
            endpoints=tuple(
                Endpoint(identifier=e.identifier, role=e.role, url=e.url.replace("{api}", base_url.rstrip("/")))
                for e in self.endpoints
            ),
        )


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(record)'}: {e['msg']}" for e in exc.errors()[:5])


def _parse(records: Iterable[Any], kind: str, model: type[BaseModel], label: Callable[[Any], str]) -> list[Any]:
    """Validate every record, or raise a LoadError naming the record and the field."""
    parsed = []
    for index, raw in enumerate(records):
        try:
            parsed.append(model.model_validate(raw))
        except ValidationError as exc:
            name = label(raw) if isinstance(raw, dict) else ""
            raise LoadError(f"{kind}[{index}]{f' ({name})' if name else ''}: {_describe(exc)}") from None
    return parsed


def _field(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda raw: f"{key} {raw[key]}" if raw.get(key) else ""


def parse_locations(raw_locations: Iterable[Any]) -> list[NetworkLocation]:
    return [location.to_domain() for location in _parse(raw_locations, "locations", Location, _field("id"))]


def parse_sessions(raw_sessions: Iterable[Any]) -> list[SessionRecord]:
    return [session.to_domain() for session in _parse(raw_sessions, "sessions", Session, _field("id"))]


def parse_parties(raw_parties: Iterable[Any], base_url: str = DEFAULT_BASE_URL) -> list[Party]:
    def label(raw: dict[str, Any]) -> str:
        return f"{raw.get('country_code')}*{raw.get('party_id')}" if raw.get("party_id") else ""

    return [spec.to_party(base_url) for spec in _parse(raw_parties, "parties", PartySpec, label)]


class ReservationSpec(BaseModel):
    """A reservation already held by a charge point (seed files, migrations)."""

    model_config = ConfigDict(extra="forbid")

    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    reservation_id: str = Field(min_length=1, max_length=36)
    cp_reservation_id: int = Field(ge=1)
    location_id: str = Field(min_length=1, max_length=36)
    evse_uid: str | None = Field(default=None, max_length=36)
    expiry_date: DateTime
    response_url: URL
    correlation_id: str | None = None

    def to_reservation(self) -> Reservation:
        return Reservation(
            owner=PartyRef(country_code=self.country_code.upper(), party_id=self.party_id.upper()),
            reservation_id=self.reservation_id,
            cp_reservation_id=self.cp_reservation_id,
            location_id=self.location_id,
            evse_uid=self.evse_uid,
            expiry_date=self.expiry_date,
            response_url=self.response_url,
            command_id=f"seed-{self.cp_reservation_id}",
            correlation_id=self.correlation_id,
        )


def parse_reservations(raw_reservations: Iterable[Any]) -> list[Reservation]:
    return [
        spec.to_reservation()
        for spec in _parse(raw_reservations, "reservations", ReservationSpec, _field("reservation_id"))
    ]


class SimulatorSpec(BaseModel):
    """How a simulated charge point answers: per EVSE, or for a whole location (``evse_uid`` absent)."""

    model_config = ConfigDict(extra="forbid")

    location_id: str = Field(min_length=1, max_length=36)
    evse_uid: str | None = Field(default=None, max_length=36)
    behaviour: Behaviour


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise LoadError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def as_list(data: Any, key: str) -> list[Any]:
    """Accept a JSON list, an OCPI envelope ``{"data": [...]}`` or ``{key: [...]}``."""
    if isinstance(data, dict):
        data = data.get(key, data.get("data", [data]))
    if not isinstance(data, list):
        raise LoadError(f"expected a list of {key}")
    return data


def load_seed(repository: DynamoRepository, seed: dict[str, Any], base_url: str = DEFAULT_BASE_URL) -> dict[str, int]:
    """Load a seed document (see ``seed/sample.json``); validates everything before writing anything.

    ``base_url`` replaces ``{api}`` in partners' endpoints (the local API, for our CPO side as a partner)."""
    if not isinstance(seed, dict):
        raise LoadError("a seed file is a JSON object with parties, locations, sessions, simulator")
    parties = parse_parties(seed.get("parties", []), base_url)
    locations = parse_locations(seed.get("locations", []))
    sessions = parse_sessions(seed.get("sessions", []))
    reservations = parse_reservations(seed.get("reservations", []))
    behaviours = _parse(seed.get("simulator", []), "simulator", SimulatorSpec, _field("location_id"))
    for party in parties:
        existing = repository.get_party(party.ref)
        repository.put_party(party, previous_token_sha256=existing.token_sha256 if existing else None)
    for location in locations:
        repository.put_location(location)
    for session in sessions:
        repository.put_session(session)
    for reservation in reservations:
        repository.put_reservation(reservation)
    for spec in behaviours:
        behaviour = spec.behaviour.model_dump(mode="json", exclude_defaults=True)
        repository.put_simulator_behaviour(spec.location_id, spec.evse_uid, behaviour)
    return {
        "parties": len(parties),
        "locations": len(locations),
        "sessions": len(sessions),
        "reservations": len(reservations),
        "simulator": len(behaviours),
    }
