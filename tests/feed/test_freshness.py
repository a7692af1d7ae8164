"""Freshness you can see: `locations show`, the feed's silence metric, decisions on stale EVSE status, and
`simulator status` publishing an EVSE status as the platform would."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from feed_support import JsonLines, emf

from ocpi_commands.domain.model import UpdateSource
from ocpi_commands_dev.cli.main import main


def cli(feed, *args: str) -> int:
    return main(["--table", feed.local.table_name, "--event-bus", feed.local.bus_name, *args])


def printed_by_cli(captured: str) -> str:
    """What the CLI printed, without the one-line JSON logs and metrics the stack's threads print meanwhile."""
    return "\n".join(line for line in captured.splitlines() if not line.startswith('{"'))


def test_simulator_status_publishes_as_the_platform_and_changes_the_next_decision(feed, capsys):
    assert cli(feed, "simulator", "status", "LOC1", "3256", "OUTOFORDER") == 0
    assert "Published EVSE Status Changed: LOC1/3256 OUTOFORDER" in capsys.readouterr().out
    feed.settle()
    refused = feed.start_session()
    assert refused.result == "REJECTED"

    assert cli(feed, "simulator", "status", "LOC1", "3256", "AVAILABLE") == 0
    feed.settle()
    assert feed.start_session().result == "ACCEPTED"

    with pytest.raises(SystemExit):  # an OCPI EvseStatus, or argparse refuses it
        cli(feed, "simulator", "status", "LOC1", "3256", "BROKEN")
    assert "invalid choice: 'BROKEN'" in capsys.readouterr().err


def test_locations_show_prints_when_and_from_where(feed, capsys):
    assert cli(feed, "simulator", "status", "LOC1", "3257", "CHARGING") == 0
    feed.settle()
    capsys.readouterr()
    assert cli(feed, "locations", "show", "LOC1") == 0
    printed = printed_by_cli(capsys.readouterr().out)
    lines = {line.split()[0]: line for line in printed.splitlines()[4:] if line.strip()}
    assert printed.startswith("Location LOC1   last_updated 2026-01-01T00:00:00")
    assert "feed     last heard from" in printed and "(push)" in printed
    assert "CHARGING" in lines["3257"] and "from push" in lines["3257"] and "STALE" not in lines["3257"]
    assert "from seed" in lines["SILENT"] or "from push" in lines["SILENT"]

    assert cli(feed, "--json", "locations", "show", "LOC1") == 0
    shown = json.loads(printed_by_cli(capsys.readouterr().out))
    evses = {e["uid"]: e for e in shown["location"]["evses"]}
    assert evses["3257"]["status"] == "CHARGING" and evses["3257"]["update_source"] == "push"
    assert shown["feed_last_heard_from"]["source"] == "push" and shown["evse_status_max_age_minutes"] == 60

    assert cli(feed, "locations", "show", "NOWHERE") == 2
    assert "no location NOWHERE" in capsys.readouterr().err
    assert cli(feed, "simulator", "status", "LOC1", "3257", "AVAILABLE") == 0
    feed.settle()


def test_the_watch_emits_minutes_since_the_feed_was_heard_from(feed, capsys):
    feed.publish(
        "EVSE Status Changed",
        {
            "location_id": "LOC1",
            "evse_uid": "3256",
            "status": "AVAILABLE",
            "last_updated": datetime.now(UTC).isoformat(),
        },
    )
    feed.settle()
    capsys.readouterr()
    result = feed.local.schedules.fire("FeedWatchSchedule")
    assert 0 <= result["minutes_since_feed_update"] < 1
    (document,) = emf(capsys.readouterr().out, "MinutesSinceFeedUpdate")
    assert document["service"] == "ocpi-commands"
    assert document["MinutesSinceFeedUpdate"] in (
        [result["minutes_since_feed_update"]],
        result["minutes_since_feed_update"],
    )


def test_a_decision_on_a_stale_status_is_logged_and_with_the_setting_rejected(feed, capsys):
    # An EVSE whose status this module last received two hours ago (the threshold is an hour).
    stored, revision = feed.store.read_location("LOC1")
    old = datetime.now(UTC) - timedelta(hours=2)
    evses = tuple(
        e.model_copy(update={"updated_at": old, "update_source": UpdateSource.PULL}) if e.uid == "3256" else e
        for e in stored.evses
    )
    assert feed.store.write_location(stored.model_copy(update={"evses": evses}), revision)

    with JsonLines() as logs:
        assert feed.start_session().result == "ACCEPTED"  # by default: decided, and said so
    (line,) = logs.with_message("Decision made on stale EVSE status")
    assert line["evse_uid"] == "3256" and line["response"] == "ACCEPTED" and line["status_age_seconds"] >= 7200
    (counted,) = emf(capsys.readouterr().out, "DecisionsOnStaleStatus")
    assert counted["Response"] == "ACCEPTED"

    feed.configure(REJECT_STALE_EVSE_STATUS="true")
    try:
        refused = feed.start_session()
        assert refused.result == "REJECTED" and "status unknown" in refused.data["message"][0]["text"]
        # A fresh status from the platform: decided on again.
        assert cli(feed, "simulator", "status", "LOC1", "3256", "AVAILABLE") == 0
        feed.settle()
        assert feed.start_session().result == "ACCEPTED"
    finally:
        feed.configure(REJECT_STALE_EVSE_STATUS="false")
