"""Loading functions: parties, OCPI Locations and Sessions, simulator behaviour (seed files, CLI, tests).

Every error names the record and the field, e.g. ``locations[2] (id LOC9): evses.0.uid: Field required``.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ocpi_commands.dal.repository import Repository
from ocpi_commands.domain.auth import token_sha256
from ocpi_commands.domain.models import (
    DEFAULT_PERMISSIONS,
    CredentialsStatus,
    NetworkLocation,
    Party,
    PartyRef,
    PartyRole,
    Reservation,
    SessionRecord,
)
from ocpi_commands.handlers.simulator import Behaviour
from ocpi_commands.ocpi.commands import CommandType
from ocpi_commands.ocpi.objects import Location, Session
from ocpi_commands.ocpi.types import URL, DateTime


class LoadError(ValueError):
    """A record could not be loaded; the message says which record and which field."""


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

    def to_party(self) -> Party:
        return Party(
            ref=PartyRef(country_code=self.country_code.upper(), party_id=self.party_id.upper()),
            role=self.role,
            name=self.name,
            token_sha256=token_sha256(self.token),
            credentials_status=self.credentials_status,
            outbound_token=self.outbound_token,
            legacy_token_encoding=self.legacy_token_encoding,
            permissions=frozenset(self.permissions) if self.permissions is not None else DEFAULT_PERMISSIONS,
            allowed_response_url_hosts=tuple(self.allowed_response_url_hosts),
            hub_clients=tuple(c.upper() for c in self.hub_clients),
        )


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(record)'}: {e['msg']}" for e in exc.errors()[:5])


def _label(kind: str, index: int, raw: Any, key: str) -> str:
    ident = raw.get(key) if isinstance(raw, dict) else None
    return f"{kind}[{index}]" + (f" ({key} {ident})" if ident else "")


def parse_locations(raw_locations: Iterable[Any]) -> list[NetworkLocation]:
    locations = []
    for index, raw in enumerate(raw_locations):
        try:
            location = Location.model_validate(raw)
        except ValidationError as exc:
            raise LoadError(f"{_label('locations', index, raw, 'id')}: {_describe(exc)}") from None
        locations.append(NetworkLocation(location_id=location.id, evses=tuple(location.evses)))
    return locations


def parse_sessions(raw_sessions: Iterable[Any]) -> list[SessionRecord]:
    sessions = []
    for index, raw in enumerate(raw_sessions):
        try:
            session = Session.model_validate(raw)
        except ValidationError as exc:
            raise LoadError(f"{_label('sessions', index, raw, 'id')}: {_describe(exc)}") from None
        sessions.append(
            SessionRecord(
                session_id=session.id,
                owner=PartyRef(country_code=session.cdr_token.country_code, party_id=session.cdr_token.party_id),
                location_id=session.location_id,
                evse_uid=session.evse_uid,
                connector_id=session.connector_id,
                status=session.status,
                authorization_reference=session.authorization_reference,
                last_updated=session.last_updated,
            )
        )
    return sessions


def parse_parties(raw_parties: Iterable[Any]) -> list[Party]:
    parties = []
    for index, raw in enumerate(raw_parties):
        try:
            parties.append(PartySpec.model_validate(raw).to_party())
        except ValidationError as exc:
            label = f"parties[{index}]"
            if isinstance(raw, dict) and raw.get("party_id"):
                label += f" ({raw.get('country_code')}*{raw.get('party_id')})"
            raise LoadError(f"{label}: {_describe(exc)}") from None
    return parties


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
    reservations = []
    for index, raw in enumerate(raw_reservations):
        try:
            reservations.append(ReservationSpec.model_validate(raw).to_reservation())
        except ValidationError as exc:
            raise LoadError(f"{_label('reservations', index, raw, 'reservation_id')}: {_describe(exc)}") from None
    return reservations


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


def load_seed(repository: Repository, seed: dict[str, Any]) -> dict[str, int]:
    """Load a seed document (see ``seed/sample.json``); validates everything before writing anything."""
    if not isinstance(seed, dict):
        raise LoadError("a seed file is a JSON object with parties, locations, sessions, simulator")
    parties = parse_parties(seed.get("parties", []))
    locations = parse_locations(seed.get("locations", []))
    sessions = parse_sessions(seed.get("sessions", []))
    reservations = parse_reservations(seed.get("reservations", []))
    behaviours = []
    for index, raw in enumerate(seed.get("simulator", [])):
        if not isinstance(raw, dict) or "location_id" not in raw or "behaviour" not in raw:
            raise LoadError(f"simulator[{index}]: needs location_id and behaviour (evse_uid optional)")
        try:
            Behaviour.model_validate(raw["behaviour"])
        except ValidationError as exc:
            raise LoadError(f"simulator[{index}] ({raw['location_id']}): {_describe(exc)}") from None
        behaviours.append(raw)
    for party in parties:
        existing = repository.get_party(party.ref)
        repository.put_party(party, previous_token_sha256=existing.token_sha256 if existing else None)
    for location in locations:
        repository.put_location(location)
    for session in sessions:
        repository.put_session(session)
    for reservation in reservations:
        repository.put_reservation(reservation)
    for raw in behaviours:
        repository.put_simulator_behaviour(raw["location_id"], raw.get("evse_uid"), raw["behaviour"])
    return {
        "parties": len(parties),
        "locations": len(locations),
        "sessions": len(sessions),
        "reservations": len(reservations),
        "simulator": len(behaviours),
    }
