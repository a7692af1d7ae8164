"""Key design of the single DynamoDB table (see README, "Data model and access patterns").

Every item has ``pk`` and ``sk``; a sparse, keys-only index ``gsi1`` (``gsi1pk``/``gsi1sk``) serves the
two secondary look-ups (pending commands, reservations by charge point id). ``expires_at`` is the TTL.
"""

import hashlib

from ocpi_commands.domain.model import PartyRef
from ocpi_commands.ocpi.types import ci_key

PENDING_SHARDS = 8


def party(ref: PartyRef) -> dict[str, str]:
    return {"pk": f"PARTY#{ref.key}", "sk": "PARTY"}


def credentials(token_sha256: str) -> dict[str, str]:
    return {"pk": f"CRED#{token_sha256}", "sk": "CRED"}


def location(location_id: str) -> dict[str, str]:
    return {"pk": f"LOC#{ci_key(location_id)}", "sk": "LOC"}


def session(session_id: str) -> dict[str, str]:
    return {"pk": f"SES#{ci_key(session_id)}", "sk": "SES"}


def reservation(owner: PartyRef, reservation_id: str) -> dict[str, str]:
    return {"pk": f"RSV#{owner.key}#{ci_key(reservation_id)}", "sk": "RSV"}


def cp_reservation_index(cp_reservation_id: int) -> str:
    return f"CPRSV#{cp_reservation_id}"


def command(command_id: str) -> dict[str, str]:
    return {"pk": f"CMD#{command_id}", "sk": "CMD"}


def pending_shard(command_id: str) -> str:
    shard = int(hashlib.sha256(command_id.encode()).hexdigest()[:4], 16) % PENDING_SHARDS
    return f"PENDING#{shard}"


def request_id_guard(owner: PartyRef, command_type: str, request_id: str) -> dict[str, str]:
    return {"pk": f"IDEM#{owner.key}#{command_type}#{request_id}", "sk": "IDEM"}


def sent_command(command_id: str) -> dict[str, str]:
    """A command the eMSP side sent; its outbox events share the partition (``EVENT#...``)."""
    return {"pk": f"SENT#{command_id}", "sk": "SENT"}


def sent_event(command_id: str, name: str) -> dict[str, str]:
    return {"pk": f"SENT#{command_id}", "sk": f"EVENT#{name}"}


def idempotency_key(key: str) -> dict[str, str]:
    """The eMSP backend's Idempotency-Key (hashed: any length and characters)."""
    return {"pk": f"IDEMK#{hashlib.sha256(key.encode()).hexdigest()}", "sk": "IDEMK"}


def simulator(location_id: str, evse_uid: str | None) -> dict[str, str]:
    return {"pk": f"SIM#{ci_key(location_id)}", "sk": f"EVSE#{ci_key(evse_uid) if evse_uid else '*'}"}


def counter(name: str) -> dict[str, str]:
    return {"pk": f"COUNTER#{name}", "sk": "COUNTER"}
