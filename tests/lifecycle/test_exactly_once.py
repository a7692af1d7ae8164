"""Exactly one CommandResult per command: results racing the timeout, duplicates, late results."""

import threading
import time

from lifecycle_support import TIMEOUT

RACERS = 16


def test_results_racing_the_deadline_deliver_exactly_once(stack):
    """Results arrive within +-50 ms of each command's deadline: one CommandResult each, whoever wins."""
    urls = [stack.url(f"race/{i}") for i in range(RACERS)]
    accepted_at = {}
    for url in urls:
        assert stack.start_session(url, evse_uid="SILENT").result == "ACCEPTED"
        accepted_at[url] = time.monotonic()
    commands = {url: stack.wait_until(lambda u=url: stack.command_for(u)) for url in urls}

    def report(url, offset):
        time.sleep(max(0.0, accepted_at[url] + TIMEOUT + offset - time.monotonic()))
        stack.report_result(commands[url].command_id, "ACCEPTED")

    offsets = [(-0.05 + 0.1 * i / (RACERS - 1)) for i in range(RACERS)]  # spread over [-50 ms, +50 ms]
    threads = [threading.Thread(target=report, args=(url, off)) for url, off in zip(urls, offsets, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = {}
    for url in urls:
        command = stack.wait_delivered(url, timeout=TIMEOUT + 10)
        [post] = stack.wait_posts(url)
        assert post.json == {"result": command.result.value}, url  # what was recorded is what was sent
        outcomes[url] = command
    time.sleep(1.0)  # anything that would deliver a second time has had time to do so
    for url, command in outcomes.items():
        assert len(stack.posts(url)) == 1, url
        # The loser of the race is counted as late: a TIMEOUT means the charge point's answer came too late.
        assert command.late_results == (1 if command.result.value == "TIMEOUT" else 0), url
        description, _ = stack.wait_execution_done(command.command_id)
        assert description["status"] == "SUCCEEDED"
    results = [c.result.value for c in outcomes.values()]
    print("race outcomes:", {r: results.count(r) for r in set(results)})
    assert set(results) <= {"ACCEPTED", "TIMEOUT"}


def test_duplicate_result_is_ignored_and_counted(stack):
    stack.behaviour("SILENT", "silent")
    url = stack.url("duplicate/1")
    stack.start_session(url, evse_uid="SILENT")
    command = stack.wait_until(lambda: (c := stack.command_for(url)) and c.task_token and c)
    stack.report_result(command.command_id, "ACCEPTED")
    stack.wait_delivered(url)
    stack.report_result(command.command_id, "ACCEPTED")
    stack.report_result(command.command_id, "REJECTED")
    stack.wait_until(lambda: stack.command_for(url).late_results == 2)
    time.sleep(0.5)
    assert [p.json for p in stack.posts(url)] == [{"result": "ACCEPTED"}]
    description, history = stack.wait_execution_done(command.command_id)
    assert description["status"] == "SUCCEEDED"
    assert not any(e["type"] == "TaskTimedOut" for e in history)


def test_late_result_after_timeout_changes_nothing(stack):
    url = stack.url("late/1")
    stack.start_session(url, evse_uid="SILENT")
    command = stack.wait_delivered(url, timeout=TIMEOUT + 10)
    assert command.result.value == "TIMEOUT"
    stack.report_result(command.command_id, "ACCEPTED")
    stack.wait_until(lambda: stack.command_for(url).late_results == 1)
    time.sleep(0.5)
    assert [p.json for p in stack.posts(url)] == [{"result": "TIMEOUT"}]
    assert stack.command_for(url).result.value == "TIMEOUT"


def test_result_for_an_unknown_command_is_ignored(stack):
    before = len(stack.receiver.received)
    stack.report_result("no-such-command", "ACCEPTED")
    stack.wait_until(
        lambda: any(
            i.function == "ChargePointEventsFunction" and i.event["detail"].get("command_id") == "no-such-command"
            for i in stack.local.invocations
        )
    )
    assert len(stack.receiver.received) == before


def test_invalid_result_event_is_ignored(stack):
    before = len(stack.receiver.received)
    stack.report_result("invalid-1", "TIMEOUT")  # only this module decides TIMEOUT
    stack.publish("Command Result Reported", {"result": "ACCEPTED", "note": "invalid-2"})  # no command_id

    def ignored():
        found = [
            i
            for i in stack.local.invocations
            if i.function == "ChargePointEventsFunction"
            and "ignored" in (i.result or {})
            and (i.event["detail"].get("command_id") == "invalid-1" or i.event["detail"].get("note") == "invalid-2")
        ]
        return found if len(found) == 2 else None

    invalid = stack.wait_until(ignored, timeout=10)
    assert invalid is not None and len(invalid) == 2
    assert "TIMEOUT" in str([i.result for i in invalid]) and "command_id" in str([i.result for i in invalid])
    assert len(stack.receiver.received) == before


def test_concurrent_duplicate_cpo_cancellations_post_once(stack):
    from datetime import timedelta

    from ocpi_commands.domain.model import PartyRef, Reservation
    from ocpi_commands.ocpi.types import utc_now
    from ocpi_commands_dev.emulation.receiver import Reply

    url = stack.url("duplicates/cpo-cancel")
    stack.repository.put_reservation(
        Reservation(
            owner=PartyRef(country_code="DE", party_id="TNM"),
            reservation_id="RSV-DUP",
            cp_reservation_id=880001,
            location_id="LOC1",
            evse_uid="3256",
            expiry_date=utc_now() + timedelta(hours=1),
            response_url=url,
            command_id="dup-cancel-command",
        )
    )
    # The first delivery is still in flight when the others arrive (below the 1 s read timeout: no retry).
    stack.receiver.script[:] = [Reply(delay=0.6)]
    try:
        for _ in range(3):
            stack.publish("Reservation Canceled", {"cp_reservation_id": 880001})
        stack.wait_posts(url)
        time.sleep(2.0)
    finally:
        stack.receiver.script.clear()
    assert [p.json["result"] for p in stack.posts(url)] == ["CANCELED_RESERVATION"]


def test_a_delivery_abandoned_by_a_dead_invocation_is_resumed_but_a_live_one_is_not(stack):
    from datetime import timedelta

    from ocpi_commands.adapters.dynamodb import keys
    from ocpi_commands.adapters.dynamodb.codec import serialize
    from ocpi_commands.ocpi.types import format_datetime, utc_now

    stack.behaviour("SILENT", "silent")
    url = stack.url("resume/1")
    stack.start_session(url, evse_uid="SILENT")
    command = stack.wait_until(lambda: (c := stack.command_for(url)) and c.task_token and c)
    event = {
        "id": "evt-resume",
        "detail-type": "Command Result Reported",
        "detail": {"command_id": command.command_id, "result": "ACCEPTED"},
    }

    def in_flight_since(seconds_ago):
        """The record as an invocation leaves it when it dies during its first POST."""
        stack.repository.client.update_item(
            TableName=stack.repository.table_name,
            Key=serialize(keys.command(command.command_id)),
            UpdateExpression="SET #s = :r, #res = :a, result_source = :cp, delivery_status = :d, "
            "delivery_owner = :o, delivery_attempts = :at",
            ExpressionAttributeNames={"#s": "status", "#res": "result"},
            ExpressionAttributeValues=serialize(
                {
                    ":r": "RESOLVED",
                    ":a": "ACCEPTED",
                    ":cp": "CHARGE_POINT",
                    ":d": "DELIVERING",
                    ":o": "result:evt-resume",
                    ":at": [{"number": 1, "started_at": format_datetime(utc_now() - timedelta(seconds=seconds_ago))}],
                }
            ),
        )

    in_flight_since(1)  # a live invocation: the redelivered event must not POST a second time
    assert stack.local.invoke("ChargePointEventsFunction", event) == {"recorded": False, "delivery": None}
    assert stack.posts(url) == []
    in_flight_since(600)  # long past the lease: that invocation is dead, this one finishes its work
    assert stack.local.invoke("ChargePointEventsFunction", event) == {"recorded": False, "delivery": "DELIVERED"}
    assert [p.json for p in stack.posts(url)] == [{"result": "ACCEPTED"}]
    assert stack.command_for(url).late_results == 0
