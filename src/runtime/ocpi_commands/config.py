"""Configuration: one validated object, built lazily from the environment and cached.

Nothing here runs at import time. Handlers call :func:`get_settings`; tests call
:func:`reset_settings` after changing the environment.
"""

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ocpi_commands.domain.model import CredentialsRole, PartyRef
from ocpi_commands.ocpi.vocabulary import CommandType

DEFAULT_COMMAND_TIMEOUTS: dict[CommandType, int] = {
    # Seconds announced in CommandResponse.timeout and enforced by the state machine: an OCPP call
    # timeout (~30 s) plus the charge point's own processing and our delivery margin.
    CommandType.START_SESSION: 60,
    CommandType.STOP_SESSION: 60,
    CommandType.RESERVE_NOW: 60,
    CommandType.CANCEL_RESERVATION: 45,
    CommandType.UNLOCK_CONNECTOR: 45,
}

# The interface a CPO platform offers for each module (terminology, "typical modules per role").
_CPO_ROLE_OF = {
    "cdrs": "SENDER",
    "locations": "SENDER",
    "sessions": "SENDER",
    "tariffs": "SENDER",
    "tokens": "RECEIVER",
    "chargingprofiles": "RECEIVER",
    "hubclientinfo": "RECEIVER",
}


def uniform_timeouts(seconds: int) -> str:
    """A COMMAND_TIMEOUTS value giving every command type the same timeout (demos, tests)."""
    return ",".join(f"{command.value}={seconds}" for command in CommandType)


class ConfigurationError(RuntimeError):
    """The environment does not describe a usable configuration."""


def _parse_mapping(value: Any) -> Any:
    """Accept ``"START_SESSION=60,STOP_SESSION=30"`` as well as a mapping."""
    if isinstance(value, str):
        pairs = [item.split("=", 1) for item in value.replace(";", ",").split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("expected COMMAND=seconds pairs separated by commas")
        return {key.strip(): int(val) for key, val in pairs}
    return value


def _parse_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=1)
    stage: str = "dev"
    service_name: str = "ocpi-commands"
    event_bus_name: str = "default"
    event_source: str = "ocpi.commands"
    state_machine_arn: str | None = None
    cpo_country_code: Annotated[str, Field(min_length=2, max_length=2)] = "NL"
    cpo_party_id: Annotated[str, Field(min_length=3, max_length=3)] = "CPO"
    # The CPO parties this platform answers for, e.g. ``NL*CPO,NL*CP2`` (empty: the one above).
    cpo_parties: tuple[Annotated[str, Field(pattern=r"^[A-Za-z]{2}\*[A-Za-z0-9]{3}$")], ...] = ()
    public_base_url: str | None = None
    command_timeouts: dict[CommandType, Annotated[int, Field(ge=1, le=600)]] = Field(
        default_factory=lambda: dict(DEFAULT_COMMAND_TIMEOUTS)
    )
    supported_commands: frozenset[CommandType] = frozenset(CommandType)
    # How long a credentials look-up is cached: `party disable` / `party rotate` take effect within it.
    credentials_cache_ttl_seconds: Annotated[float, Field(ge=0, le=60)] = 10.0
    delivery_retry_window_seconds: Annotated[int, Field(ge=0, le=300)] = 30
    delivery_connect_timeout_seconds: Annotated[float, Field(gt=0)] = 3.0
    delivery_read_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    max_body_bytes: Annotated[int, Field(ge=1024)] = 65536
    # "strict": https and public addresses only (every deployed stack; the template cannot change it).
    # "local": also http and loopback addresses, for `make run` and the tests that call a local receiver.
    response_url_policy: Literal["strict", "local"] = "strict"
    # The OCPI versions this platform offers (Versions module), e.g. ``2.1.1,2.2.1,2.3.0``.
    ocpi_versions: tuple[Annotated[str, Field(pattern=r"^(2\.1\.1|2\.2\.1|2\.3\.0)$")], ...] = (
        "2.1.1",
        "2.2.1",
        "2.3.0",
    )
    # The business name of our parties in the Credentials we give partners.
    business_name: Annotated[str, Field(min_length=1, max_length=100)] = "OCPI Commands"
    # Endpoints of modules the CPO platform serves elsewhere, listed in our version details:
    # ``locations=https://cpo.example.com/ocpi/{version}/locations,tokens:RECEIVER=...``.
    module_endpoints: tuple[str, ...] = ()
    # An invited partner's CREDENTIALS_TOKEN_A stops working after this many days.
    token_a_validity_days: Annotated[float, Field(gt=0, le=90)] = 7.0
    # Seconds before the announced timeout at which the wait for the charge point ends, so that a
    # TIMEOUT CommandResult reaches the eMSP before it stops waiting (at most half the timeout).
    delivery_margin_seconds: Annotated[int, Field(ge=0, le=60)] = 5
    # The roles this platform plays: CPO (receives commands), EMSP (sends them), or both.
    roles: frozenset[Literal["CPO", "EMSP"]] = frozenset({"CPO", "EMSP"})
    # The eMSP parties this platform sends commands as, the first being the default one.
    emsp_parties: tuple[Annotated[str, Field(pattern=r"^[A-Za-z]{2}\*[A-Za-z0-9]{3}$")], ...] = ("NL*EMS",)
    # The eMSP side waits for a CommandResult this long after the CPO's announced timeout.
    emsp_result_grace_seconds: Annotated[int, Field(ge=0, le=300)] = 10
    # A CPO's announced timeout is clamped to this range (0, negative or hours are not waited for).
    emsp_min_timeout_seconds: Annotated[int, Field(ge=1, le=600)] = 10
    emsp_max_timeout_seconds: Annotated[int, Field(ge=10, le=3600)] = 600
    emsp_state_machine_arn: str | None = None

    _parse_timeouts = field_validator("command_timeouts", mode="before")(_parse_mapping)
    _parse_supported = field_validator("supported_commands", mode="before")(_parse_list)
    _parse_cpo_parties = field_validator("cpo_parties", mode="before")(_parse_list)
    _parse_versions = field_validator("ocpi_versions", mode="before")(_parse_list)
    _parse_modules = field_validator("module_endpoints", mode="before")(_parse_list)
    _parse_roles = field_validator("roles", mode="before")(_parse_list)
    _parse_emsp_parties = field_validator("emsp_parties", mode="before")(_parse_list)

    @field_validator("roles", mode="after")
    @classmethod
    def _some_role(cls, value: frozenset[str]) -> frozenset[str]:
        if not value:
            raise ValueError("at least one of CPO, EMSP")
        return value

    @field_validator("module_endpoints", mode="after")
    @classmethod
    def _check_modules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            name, _, url = entry.partition("=")
            identifier, _, role = name.partition(":")
            if not identifier or not url.startswith(("https://", "http://")) or role not in ("", "SENDER", "RECEIVER"):
                raise ValueError(f"{entry!r} is not module[:SENDER|RECEIVER]=URL")
        return value

    @field_validator("command_timeouts", mode="after")
    @classmethod
    def _fill_timeouts(cls, value: dict[CommandType, int]) -> dict[CommandType, int]:
        return {**DEFAULT_COMMAND_TIMEOUTS, **value}

    @property
    def our_parties(self) -> tuple[PartyRef, ...]:
        """The CPO parties this platform is, the first being the default one."""
        if not self.cpo_parties:
            return (PartyRef(country_code=self.cpo_country_code.upper(), party_id=self.cpo_party_id.upper()),)
        found = []
        for entry in self.cpo_parties:
            country_code, _, party_id = entry.upper().partition("*")
            found.append(PartyRef(country_code=country_code, party_id=party_id))
        return tuple(found)

    @property
    def is_cpo(self) -> bool:
        return "CPO" in self.roles

    @property
    def is_emsp(self) -> bool:
        return "EMSP" in self.roles

    @property
    def our_emsp_parties(self) -> tuple[PartyRef, ...]:
        """The eMSP parties this platform is, the first being the default one."""
        found = []
        for entry in self.emsp_parties:
            country_code, _, party_id = entry.upper().partition("*")
            found.append(PartyRef(country_code=country_code, party_id=party_id))
        return tuple(found)

    def our_roles(self, partner_role: str | None = None) -> tuple[CredentialsRole, ...]:
        """Our Credentials roles: a CPO role per CPO party, an EMSP role per eMSP party. The role that
        complements ``partner_role`` comes first (2.1.1 Credentials name only the first)."""
        cpo = [("CPO", p) for p in self.our_parties] if self.is_cpo else []
        emsp = [("EMSP", p) for p in self.our_emsp_parties] if self.is_emsp else []
        ordered = emsp + cpo if partner_role == "CPO" else cpo + emsp
        return tuple(
            CredentialsRole(role=role, country_code=p.country_code, party_id=p.party_id, name=self.business_name)
            for role, p in ordered
        )

    def emsp_wait_seconds(self, announced: int | None, command_type: CommandType) -> tuple[int, int]:
        """(timeout, wait): the CPO's timeout clamped (2.1.1 announces none: ours), and how long the
        eMSP side waits for the CommandResult (the timeout plus the grace)."""
        timeout = self.timeout_for(command_type) if announced is None else announced
        timeout = min(max(timeout, self.emsp_min_timeout_seconds), self.emsp_max_timeout_seconds)
        return timeout, timeout + self.emsp_result_grace_seconds

    def timeout_for(self, command_type: CommandType) -> int:
        return self.command_timeouts[command_type]

    def hosted_modules(self, version: str) -> dict[str, tuple[str, str]]:
        """The configured modules' endpoints for ``version``: {identifier: (role, url)}."""
        found = {}
        for entry in self.module_endpoints:
            name, _, url = entry.partition("=")
            identifier, _, role = name.partition(":")
            found[identifier] = (role or _CPO_ROLE_OF.get(identifier, "SENDER"), url.replace("{version}", version))
        return found

    def charge_point_wait(self, timeout: int) -> int:
        """How long the charge point's answer is awaited: the announced timeout less the delivery margin
        (at most half the timeout), so TIMEOUT is delivered within the announced timeout."""
        return timeout - min(self.delivery_margin_seconds, timeout // 2)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        fields: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = environ.get(name.upper())
            if raw is not None and raw != "":
                fields[name] = raw
        if "service_name" not in fields and environ.get("POWERTOOLS_SERVICE_NAME"):
            fields["service_name"] = environ["POWERTOOLS_SERVICE_NAME"]
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(f"invalid configuration: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)


def reset_settings() -> None:
    get_settings.cache_clear()
