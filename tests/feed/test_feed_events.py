"""Every live-data event in events/ (what `sam local invoke LocationFeedFunction|FeedScheduleFunction -e ...`
takes) does what it says. A new events/feed-*.json without an expectation here fails."""

import json
from pathlib import Path

import pytest

EVENTS = Path(__file__).resolve().parents[2] / "events"
FEED_EVENTS = sorted(p.name for p in EVENTS.glob("feed-*.json"))


def function_for(name: str) -> str:
    return "FeedScheduleFunction" if name.startswith("feed-schedule-") else "LocationFeedFunction"


def check(feed, name: str, result) -> None:
    if name == "feed-location-updated.json":
        assert result == {"batchItemFailures": []}
        assert feed.start_session("LOC-EVENTS", "E1").result == "ACCEPTED"
        assert feed.start_session("LOC-EVENTS", "E2").status_code == 2003  # REMOVED
    elif name == "feed-evse-status-changed.json":
        assert result == {"batchItemFailures": []}
        assert feed.evse("3256").status.value == "OUTOFORDER"
        assert feed.start_session().result == "REJECTED"
    elif name == "feed-invalid-event.json":
        assert result == {"batchItemFailures": []}  # refused, logged and counted: never retried
    elif name == "feed-schedule-watch.json":
        assert set(result) == {"minutes_since_feed_update"}
    elif name == "feed-schedule-pull.json":
        assert {r["kind"] for r in result["pulls"]} == {"locations", "sessions"}
        assert all(r["complete"] for r in result["pulls"]), result
    else:
        pytest.fail(f"no expectation for events/{name}")


def test_there_are_feed_events():
    assert {function_for(n) for n in FEED_EVENTS} == {"LocationFeedFunction", "FeedScheduleFunction"}


@pytest.mark.parametrize("name", FEED_EVENTS)
def test_feed_event(feed, name):
    event = json.loads((EVENTS / name).read_text())
    if function_for(name) == "LocationFeedFunction":
        for record in event["Records"]:
            envelope = json.loads(record["body"])
            assert {"detail-type", "detail", "source", "id", "time"} <= set(envelope)
    check(feed, name, feed.local.invoke(function_for(name), event))
