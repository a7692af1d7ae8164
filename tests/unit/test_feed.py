"""Live data, the domain's rules: which update wins, what a refresh costs, what is refused and counted."""

from datetime import UTC, datetime, timedelta

import pytest

from ocpi_commands.config import Settings
from ocpi_commands.domain.events import EvseStatusReport, LocationReport
from ocpi_commands.domain.feed import FeedConflict, FeedService, InvalidFeedEvent, Outcome, merge_location
from ocpi_commands.domain.feed import apply_evse_status as apply_status
from ocpi_commands.domain.model import NetworkLocation, SessionRecord, UpdateSource
from ocpi_commands.domain.ports import FeedOutcome, PullState
from ocpi_commands.ocpi.vocabulary import EvseStatus

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
CONFIRM = timedelta(minutes=15)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def evse(uid: str, status: str = "AVAILABLE", minutes: float = 0, **extra):
    return {
        "uid": uid,
        "status": status,
        "capabilities": ["REMOTE_START_STOP_CAPABLE"],
        "connectors": [{"id": "1"}],
        "last_updated": at(minutes),
        **extra,
    }


def location(minutes: float, *evses, location_id: str = "LOC1") -> NetworkLocation:
    return LocationReport.model_validate(
        {"id": location_id, "evses": list(evses), "last_updated": at(minutes)}
    ).to_domain()


def status_of(merged: NetworkLocation, uid: str) -> str | None:
    found = next((e for e in merged.evses if e.uid == uid), None)
    return found.status.value if found else None


def merge(stored, incoming, now=NOW):
    return merge_location(stored, incoming, now, UpdateSource.PUSH, CONFIRM)


def test_a_new_location_is_applied_and_says_when_and_from_where():
    merged, outcome = merge(None, location(0, evse("A")))
    assert outcome == Outcome.APPLIED
    assert merged.updated_at == NOW and merged.update_source == UpdateSource.PUSH
    assert [(e.uid, e.updated_at, e.update_source) for e in merged.evses] == [("A", NOW, UpdateSource.PUSH)]


def test_an_older_location_never_overwrites_a_newer_one():
    stored, _ = merge(None, location(10, evse("A", "CHARGING", 10)))
    assert merge(stored, location(5, evse("A", "AVAILABLE", 5))) == (None, Outcome.OLDER)


def test_each_evse_keeps_its_newest_version_whichever_location_carried_it():
    stored, _ = merge(None, location(10, evse("A", "AVAILABLE", 2), evse("B", "AVAILABLE", 10)))
    # An older Location, but its EVSE A changed after the stored A: A is taken, B is kept.
    merged, outcome = merge(stored, location(8, evse("A", "OUTOFORDER", 8), evse("B", "CHARGING", 1)))
    assert outcome == Outcome.APPLIED
    assert (status_of(merged, "A"), status_of(merged, "B")) == ("OUTOFORDER", "AVAILABLE")
    assert merged.last_updated == T0 + timedelta(minutes=10)  # the Location's own fields stay the newest
    # A newer Location whose EVSE B is older than the stored B: B is kept.
    merged, _ = merge(merged, location(20, evse("A", "AVAILABLE", 20), evse("B", "INOPERATIVE", 5)))
    assert (status_of(merged, "A"), status_of(merged, "B")) == ("AVAILABLE", "AVAILABLE")


def test_a_newer_location_drops_an_evse_it_no_longer_lists_unless_it_changed_after_it():
    stored, _ = merge(None, location(10, evse("A", minutes=10), evse("B", minutes=4), evse("C", minutes=30)))
    merged, _ = merge(stored, location(20, evse("A", minutes=20)))
    assert [e.uid for e in merged.evses] == ["A", "C"]  # C changed at 30, after the Location of 20


def test_a_deleted_evse_is_one_removed():
    stored, _ = merge(None, location(0, evse("A"), evse("B")))
    merged, _ = merge(stored, location(5, evse("A", minutes=5), evse("B", "REMOVED", 5)))
    assert merged.evse("B") is None and [e.uid for e in merged.active_evses] == ["A"]


def test_an_unchanged_refresh_costs_no_write_until_the_state_needs_confirming():
    stored, _ = merge(None, location(0, evse("A")), now=NOW)
    assert merge(stored, location(0, evse("A")), now=NOW + CONFIRM - timedelta(seconds=1)) == (None, Outcome.UNCHANGED)
    confirmed, outcome = merge(stored, location(0, evse("A")), now=NOW + CONFIRM)
    assert outcome == Outcome.APPLIED and confirmed.evses[0].updated_at == NOW + CONFIRM
    # A change is written at once, however recent the last write.
    changed, outcome = merge(stored, location(0, evse("A", "CHARGING")), now=NOW + timedelta(seconds=1))
    assert outcome == Outcome.APPLIED and status_of(changed, "A") == "CHARGING"


def status_report(status: str, minutes: float, uid: str = "A", **extra) -> EvseStatusReport:
    return EvseStatusReport(location_id="LOC1", evse_uid=uid, status=status, last_updated=at(minutes), **extra)


def test_an_evse_status_applies_unless_the_stored_one_is_newer():
    stored, _ = merge(None, location(10, evse("A", minutes=10)))
    assert apply_status(stored, status_report("CHARGING", 9), NOW, UpdateSource.PUSH) == (None, Outcome.OLDER)
    merged, outcome = apply_status(stored, status_report("OUTOFORDER", 10), NOW, UpdateSource.PULL)
    assert outcome == Outcome.APPLIED and status_of(merged, "A") == "OUTOFORDER"
    assert merged.evses[0].capabilities == ("REMOTE_START_STOP_CAPABLE",)  # absent: unchanged
    merged, _ = apply_status(
        merged, status_report("AVAILABLE", 11, capabilities=["RESERVABLE"]), NOW, UpdateSource.PUSH
    )
    assert merged.evses[0].capabilities == ("RESERVABLE",)
    assert apply_status(stored, status_report("CHARGING", 20, uid="Z"), NOW, UpdateSource.PUSH)[1] == Outcome.UNKNOWN
    assert apply_status(None, status_report("CHARGING", 20), NOW, UpdateSource.PUSH)[1] == Outcome.UNKNOWN


class MemoryStore:
    """The FeedStore port in memory, with revisions (``interfere`` changes the Location under a merge)."""

    def __init__(self):
        self.locations: dict[str, tuple[NetworkLocation, str]] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.heartbeat = None
        self.writes = 0
        self.interfere = 0

    def read_location(self, location_id):
        found = self.locations.get(location_id.upper())
        return (found[0], found[1]) if found else (None, None)

    def write_location(self, location, revision):
        current = self.locations.get(location.location_id.upper())
        if self.interfere:
            self.interfere -= 1
            earlier = location.model_copy(update={"last_updated": location.last_updated - timedelta(minutes=1)})
            current = (earlier.model_copy(update={"evses": ()}), f"other-{self.interfere}")
            self.locations[location.location_id.upper()] = current
        if (current[1] if current else None) != revision:
            return False
        self.writes += 1
        self.locations[location.location_id.upper()] = (location, f"r{self.writes}")
        return True

    def apply_evse_status(self, report, now, source):
        stored, revision = self.read_location(report.location_id)
        merged, outcome = apply_status(stored, report, now, source)
        if merged is not None:
            self.write_location(merged, revision)
        return outcome

    def put_session(self, session, only_if_newer=False):
        old = self.sessions.get(session.session_id)
        if only_if_newer and old and old.last_updated and session.last_updated < old.last_updated:
            return False
        self.sessions[session.session_id] = session
        return True

    def record_heartbeat(self, now, source):
        self.heartbeat = (now, source)

    def last_heartbeat(self):
        return self.heartbeat

    def get_pull_state(self, kind):
        return PullState()


@pytest.fixture
def feed(monkeypatch):
    counted = []
    monkeypatch.setattr("ocpi_commands.domain.feed.metric", lambda name, *a, **dims: counted.append((name, dims)))
    service = FeedService(MemoryStore(), Settings(table_name="t"), clock=lambda: NOW)
    service.counted = counted
    return service


def test_a_location_event_is_validated_applied_and_counted(feed):
    detail = {"id": "LOC1", "last_updated": at(0), "evses": [evse("A")], "name": "ignored"}
    assert feed.handle("Location Updated", detail) == Outcome.APPLIED
    assert feed.handle("Location Updated", detail) == Outcome.UNCHANGED
    assert feed.handle("EVSE Status Changed", status_report("OUTOFORDER", 1).model_dump(mode="json")) == Outcome.APPLIED
    assert feed.store.read_location("loc1")[0].evse("a").status == EvseStatus.OUTOFORDER
    assert [d["Outcome"] for n, d in feed.counted if n == "FeedUpdates"] == ["applied", "unchanged", "applied"]


@pytest.mark.parametrize(
    ("detail_type", "detail", "reason"),
    [
        ("Location Updated", {"id": "LOC1", "evses": []}, "last_updated: Field required"),
        ("Location Updated", {"id": "LOC1", "last_updated": at(0), "evses": [evse("A"), evse("a")]}, "appears more"),
        ("Location Updated", {"id": "L" * 37, "last_updated": at(0)}, "id: String should have at most 36"),
        (
            "EVSE Status Changed",
            {"location_id": "LOC1", "evse_uid": "A", "status": "BROKEN", "last_updated": at(0)},
            "status",
        ),
        ("EVSE Status Changed", {"location_id": "LOC1", "evse_uid": "A", "status": "AVAILABLE"}, "last_updated"),
        ("EVSE Status Changed", ["not", "an", "object"], "Input should be a valid dictionary"),
        ("Location Removed", {}, "unexpected detail-type 'Location Removed'"),
    ],
)
def test_an_invalid_event_is_refused_with_its_reason_and_counted(feed, detail_type, detail, reason):
    with pytest.raises(InvalidFeedEvent, match=reason):
        feed.handle(detail_type, detail)
    assert [d["Outcome"] for n, d in feed.counted] == [FeedOutcome.INVALID.value]
    assert feed.store.writes == 0


def test_a_merge_is_redone_when_the_location_changed_under_it_and_gives_up_after_a_few(feed):
    report = LocationReport.model_validate({"id": "LOC1", "last_updated": at(0), "evses": [evse("A")]})
    feed.store.interfere = 2
    assert feed.location(report, UpdateSource.PUSH) == Outcome.APPLIED
    assert feed.store.read_location("LOC1")[0].evse("A") is not None  # the third merge, over what it read
    feed.store.interfere = 10
    with pytest.raises(FeedConflict):
        feed.location(report.model_copy(update={"last_updated": T0 + timedelta(minutes=1)}), UpdateSource.PUSH)


def test_the_watch_reports_minutes_since_the_feed_was_last_heard_from(feed):
    assert feed.watch() is None  # no feed yet: nothing to alarm on
    feed.heard(UpdateSource.PULL)
    feed.clock = lambda: NOW + timedelta(minutes=42)
    assert feed.watch() == 42
    assert ("MinutesSinceFeedUpdate", {}) in [(n, d) for n, d in feed.counted]
