"""Push: "Location Updated" and "EVSE Status Changed" on the stack's bus, through the rule, the queue and
LocationFeedFunction as template.yaml defines them, change the next decision (issue: live data).

Nothing here waits on a clock: each test publishes, waits (bounded) until the queue has drained, and
asserts on the decision and the stored record."""

from datetime import UTC, datetime, timedelta

from feed_support import JsonLines, emf

from ocpi_commands.domain.model import UpdateSource
from ocpi_commands.ocpi.types import format_datetime


def moment(seconds: float = 0) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds))


def status(evse_uid: str, value: str, last_updated: str, location_id: str = "LOC1", **extra):
    return {"location_id": location_id, "evse_uid": evse_uid, "status": value, "last_updated": last_updated, **extra}


def location(location_id: str, last_updated: str, *evses: dict) -> dict:
    return {
        "country_code": "NL",
        "party_id": "CPO",
        "id": location_id,
        "name": "Pushed hub",
        "address": "Somewhere 1",  # any other OCPI field is allowed and ignored
        "last_updated": last_updated,
        "evses": list(evses),
    }


def evse(uid: str, value: str, last_updated: str, capabilities=("REMOTE_START_STOP_CAPABLE", "RESERVABLE")) -> dict:
    return {
        "uid": uid,
        "evse_id": f"NL*CPO*E{uid}",
        "status": value,
        "capabilities": list(capabilities),
        "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE"}],
        "last_updated": last_updated,
    }


def test_an_evse_status_change_changes_the_next_decision(feed):
    assert feed.start_session().result == "ACCEPTED"

    feed.publish("EVSE Status Changed", status("3256", "OUTOFORDER", moment()))
    feed.settle()
    refused = feed.start_session()
    assert (refused.status, refused.status_code, refused.result) == (200, 1000, "REJECTED")
    assert "3256" in refused.data["message"][0]["text"]

    feed.publish("EVSE Status Changed", status("3256", "AVAILABLE", moment(1)))
    feed.settle()
    assert feed.start_session().result == "ACCEPTED"
    stored = feed.evse("3256")
    assert stored.status.value == "AVAILABLE" and stored.update_source == UpdateSource.PUSH


def test_an_older_update_never_overwrites_a_newer_one(feed):
    t0, t2, t5, t10 = moment(), moment(2), moment(5), moment(10)
    feed.publish(
        "Location Updated", location("LOC-ORDER", t0, evse("O1", "AVAILABLE", t0), evse("O2", "AVAILABLE", t0))
    )
    feed.settle()
    feed.publish("EVSE Status Changed", status("O1", "CHARGING", t10, "LOC-ORDER"))
    feed.settle()
    feed.publish("EVSE Status Changed", status("O1", "AVAILABLE", t5, "LOC-ORDER"))  # older than CHARGING
    feed.settle()
    # A newer Location that no longer lists O2 drops it, and keeps O1's newer status.
    feed.publish("Location Updated", location("LOC-ORDER", t5, evse("O1", "AVAILABLE", t5)))
    feed.settle()
    # An older Location changes nothing: O2 does not come back, O1 stays CHARGING.
    feed.publish(
        "Location Updated", location("LOC-ORDER", t2, evse("O1", "AVAILABLE", t2), evse("O2", "AVAILABLE", t2))
    )
    feed.settle()
    stored = feed.location("LOC-ORDER")
    assert format_datetime(stored.last_updated) == t5
    assert [(e.uid, e.status.value, format_datetime(e.last_updated)) for e in stored.evses] == [("O1", "CHARGING", t10)]
    assert feed.start_session("LOC-ORDER", "O2").status_code == 2003


def test_a_pushed_location_is_decided_on_and_a_removed_evse_is_gone(feed):
    at = moment()
    feed.publish("Location Updated", location("LOC-PUSH", at, evse("P1", "AVAILABLE", at), evse("P2", "AVAILABLE", at)))
    feed.settle()
    assert feed.start_session("LOC-PUSH", "P1").result == "ACCEPTED"
    assert feed.start_session("LOC-PUSH", "P2").result == "ACCEPTED"

    later = moment(1)
    feed.publish(
        "Location Updated", location("LOC-PUSH", later, evse("P1", "AVAILABLE", at), evse("P2", "REMOVED", later))
    )
    feed.settle()
    removed = feed.start_session("LOC-PUSH", "P2")
    assert (removed.status_code, removed.result) == (2003, "REJECTED")  # an unknown EVSE
    assert feed.start_session("LOC-PUSH", "P1").result == "ACCEPTED"
    stored = feed.location("LOC-PUSH")
    assert stored.update_source == UpdateSource.PUSH and format_datetime(stored.last_updated) == later


def test_capabilities_come_with_a_status(feed):
    at = moment()
    feed.publish("Location Updated", location("LOC-CAPS", at, evse("C1", "AVAILABLE", at)))
    feed.settle()
    feed.publish("EVSE Status Changed", status("C1", "AVAILABLE", moment(1), "LOC-CAPS", capabilities=["RESERVABLE"]))
    feed.settle()
    answer = feed.start_session("LOC-CAPS", "C1")
    assert answer.result == "NOT_SUPPORTED"  # no REMOTE_START_STOP_CAPABLE any more


def test_invalid_events_are_refused_with_their_reason_counted_and_not_retried(feed, capsys):
    before = len(feed.local.invocations)
    with JsonLines() as logs:
        feed.publish("EVSE Status Changed", status("3256", "BROKEN", moment()))
        feed.publish("EVSE Status Changed", {"location_id": "LOC1", "evse_uid": "3256", "status": "AVAILABLE"})
        feed.publish("Location Updated", {"id": "LOC1", "last_updated": moment(), "evses": [{"uid": "X"}]})
        feed.publish("EVSE Status Changed", status("NOPE", "AVAILABLE", moment()))  # unknown EVSE: ignored
        feed.settle()
    refused = logs.with_message("Invalid feed event refused")
    problems = " | ".join(line["problems"] for line in refused)
    assert len(refused) == 3, problems
    assert "status" in problems and "last_updated: Field required" in problems and "evses.0.status" in problems
    assert logs.with_message("EVSE status for an unknown Location or EVSE ignored")
    invalid = [d for d in emf(capsys.readouterr().out, "FeedUpdates") if d["Outcome"] == "invalid"]
    assert {(d["Kind"], d["Source"]) for d in invalid} == {("Evse", "push"), ("Location", "push")}
    assert len(invalid) == 3
    # Each was taken once: a refusal is final (no batch item failure, nothing returns to the queue).
    runs = [i for i in feed.local.invocations[before:] if i.function == "LocationFeedFunction"]
    assert sum(len(i.event["Records"]) for i in runs) == 4
    assert all(i.result == {"batchItemFailures": []} for i in runs)
    assert feed.evse("3256").status.value == "AVAILABLE"


def test_a_failing_write_returns_only_its_message_to_the_queue(feed):
    """DynamoDB failing (past the client's retries): that message returns to the queue, and is applied then."""
    before = len(feed.local.invocations)
    feed.local.inject_fault("dynamodb", "UpdateItem", "InternalServerError", times=3)  # past the retries
    feed.publish("EVSE Status Changed", status("3256", "BLOCKED", moment(20)))
    feed.settle()
    runs = [i for i in feed.local.invocations[before:] if i.function == "LocationFeedFunction"]
    assert any(i.result and i.result["batchItemFailures"] for i in runs)
    assert feed.evse("3256").status.value == "BLOCKED"
    feed.publish("EVSE Status Changed", status("3256", "AVAILABLE", moment(21)))
    feed.settle()
