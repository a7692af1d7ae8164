"""Configuration: one validated object, built lazily from the environment and cached.

Nothing here runs at import time. Handlers call :func:`get_settings`; tests call
:func:`reset_settings` after changing the environment.
"""

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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

    _parse_timeouts = field_validator("command_timeouts", mode="before")(_parse_mapping)
    _parse_supported = field_validator("supported_commands", mode="before")(_parse_list)

    @field_validator("command_timeouts", mode="after")
    @classmethod
    def _fill_timeouts(cls, value: dict[CommandType, int]) -> dict[CommandType, int]:
        return {**DEFAULT_COMMAND_TIMEOUTS, **value}

    def timeout_for(self, command_type: CommandType) -> int:
        return self.command_timeouts[command_type]

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
