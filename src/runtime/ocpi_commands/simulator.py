"""A charge point simulator for dev and test stacks (template parameter EnableChargePointSimulator).

It consumes "Command Dispatched" events and answers like a charge point backend would, with a
behaviour configured per EVSE (or per location, ``evse_uid`` absent) in the table::

    {"mode": "accept", "delay_seconds": 2, "commands": {"STOP_SESSION": {"mode": "silent"}}}

Modes: accept, reject, fail, occupied, inoperative, not_supported, unknown_reservation, silent (no
answer, so the command ends in TIMEOUT). An accepted START_SESSION / STOP_SESSION / RESERVE_NOW also
reports the session it creates or completes, as a CSMS would.
"""

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ocpi_commands.domain.events import RESULT_REPORTED, SESSION_UPDATED
from ocpi_commands.ocpi.vocabulary import CommandResultType, CommandType, SessionStatus

SIMULATOR_SOURCE = "ocpi.chargepoint.simulator"

Mode = Literal["accept", "reject", "fail", "occupied", "inoperative", "not_supported", "unknown_reservation", "silent"]

RESULTS: dict[str, CommandResultType] = {
    "accept": CommandResultType.ACCEPTED,
    "reject": CommandResultType.REJECTED,
    "fail": CommandResultType.FAILED,
    "occupied": CommandResultType.EVSE_OCCUPIED,
    "inoperative": CommandResultType.EVSE_INOPERATIVE,
    "not_supported": CommandResultType.NOT_SUPPORTED,
    "unknown_reservation": CommandResultType.UNKNOWN_RESERVATION,
}


class Behaviour(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode = "accept"
    delay_seconds: float = Field(default=0, ge=0, le=100)
    commands: dict[CommandType, "Behaviour"] = {}

    def for_command(self, command_type: CommandType) -> "Behaviour":
        return self.commands.get(command_type, self)


class BehaviourStore(Protocol):
    def get_simulator_behaviour(self, location_id: str | None, evse_uid: str | None) -> dict[str, Any] | None: ...


def behaviour_for(store: BehaviourStore, detail: dict[str, Any]) -> Behaviour:
    stored = store.get_simulator_behaviour(detail.get("location_id"), detail.get("evse_uid"))
    base = Behaviour.model_validate(stored) if stored else Behaviour()
    return base.for_command(CommandType(detail["command_type"]))


def _session_report(detail: dict[str, Any], session_id: str, status: SessionStatus) -> dict[str, Any]:
    party = detail["party"]
    report = {
        "session_id": session_id,
        "country_code": party["country_code"],
        "party_id": party["party_id"],
        "location_id": detail.get("location_id"),
        "evse_uid": detail.get("evse_uid"),
        "connector_id": detail.get("connector_id"),
        "status": status.value,
        "authorization_reference": detail.get("authorization_reference"),
        "command_id": detail.get("command_id"),
    }
    return {k: v for k, v in report.items() if v is not None}


def answer(detail: dict[str, Any], behaviour: Behaviour) -> list[tuple[str, dict[str, Any]]]:
    """The events a charge point backend would publish for this dispatched command."""
    if behaviour.mode == "silent":
        return []
    result = RESULTS[behaviour.mode]
    command_type = CommandType(detail["command_type"])
    events: list[tuple[str, dict[str, Any]]] = [
        (RESULT_REPORTED, {"command_id": detail["command_id"], "result": result.value})
    ]
    if result != CommandResultType.ACCEPTED or not detail.get("location_id"):
        return events
    if command_type == CommandType.START_SESSION:
        session_id = f"SIM-{detail['command_id'][:24]}"
        events.append((SESSION_UPDATED, _session_report(detail, session_id, SessionStatus.ACTIVE)))
    elif command_type == CommandType.STOP_SESSION and detail.get("session_id"):
        events.append((SESSION_UPDATED, _session_report(detail, detail["session_id"], SessionStatus.COMPLETED)))
    return events
