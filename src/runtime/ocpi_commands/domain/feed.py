"""Live data: the CPO platform keeps Locations, EVSE status and Sessions current (push events and pulls).

The ordering rule (docs/events.md, "Live data"):

* every EVSE keeps the version with the latest ``last_updated``, whether it came in a whole Location or
  in an "EVSE Status Changed";
* a Location's own fields and its list of EVSEs follow the latest Location: an EVSE that a newer Location
  no longer lists is dropped, unless it changed after that Location (a deleted EVSE is ``REMOVED``);
* an update exactly as recent as the stored state is applied again (a duplicate is harmless and confirms
  the state); an older one never overwrites a newer one.

The store is the arbiter: every write is conditional, on the EVSE's ``last_updated`` or on the revision
the merge was computed from, so two concurrent updates of one Location never lose one another.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pydantic import ValidationError

from ocpi_commands.config import Settings
from ocpi_commands.domain.events import EVSE_STATUS_CHANGED, LOCATION_UPDATED, EvseStatusReport, LocationReport
from ocpi_commands.domain.model import Evse, NetworkLocation, SessionRecord, UpdateSource
from ocpi_commands.domain.ports import FeedOutcome, FeedStore
from ocpi_commands.observability import MetricUnit, logger, metric
from ocpi_commands.ocpi.types import ci_key, format_datetime, utc_now

FEED_EVENTS = (LOCATION_UPDATED, EVSE_STATUS_CHANGED)
MERGE_ATTEMPTS = 5


Outcome = FeedOutcome


class InvalidFeedEvent(ValueError):
    """An update that does not validate: logged with its reason and counted, never retried."""


class FeedConflict(RuntimeError):
    """A Location kept changing under the merge; the update is retried (its message returns to the queue)."""


class Merge(NamedTuple):
    location: NetworkLocation | None  # what to write; None: nothing to write
    outcome: Outcome


def describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(detail)'}: {e['msg']}" for e in exc.errors()[:5])


def _as_recent(new: datetime | None, old: datetime | None) -> bool:
    return old is None or (new is not None and new >= old)


def _after(new: datetime | None, old: datetime | None) -> bool:
    return new is not None and (old is None or new > old)


def _content(location: NetworkLocation) -> dict[str, Any]:
    freshness = {"updated_at": True, "update_source": True}
    return location.model_dump(exclude={**freshness, "evses": {"__all__": freshness}})


def _confirmed_since(location: NetworkLocation) -> datetime | None:
    moments = [location.updated_at, *(e.updated_at for e in location.evses)]
    return None if any(m is None for m in moments) else min(m for m in moments if m is not None)


def merge_location(
    stored: NetworkLocation | None,
    incoming: NetworkLocation,
    now: datetime,
    source: UpdateSource,
    confirm_after: timedelta,
) -> Merge:
    """What a whole Location changes in the stored one (pure; see the module's ordering rule).

    An incoming state equal to the stored one is written again only to confirm it, at most once per
    ``confirm_after``: a full refresh that changes nothing costs a read, not a write."""

    def stamp(evse: Evse) -> Evse:
        return evse.model_copy(update={"updated_at": now, "update_source": source})

    if stored is None:
        stamped = tuple(stamp(e) for e in incoming.evses)
        return Merge(
            incoming.model_copy(update={"evses": stamped, "updated_at": now, "update_source": source}), Outcome.APPLIED
        )
    newer = _as_recent(incoming.last_updated, stored.last_updated)
    ours = {ci_key(e.uid): e for e in stored.evses}
    theirs = {ci_key(e.uid): e for e in incoming.evses}
    first, second = (theirs, ours) if newer else (ours, theirs)
    evses: list[Evse] = []
    taken = 0
    for key in dict.fromkeys([*first, *second]):
        new, old = theirs.get(key), ours.get(key)
        if new is not None and old is not None:
            take = _as_recent(new.last_updated, old.last_updated)
        elif new is not None:  # only the incoming Location lists it
            take = newer or _after(new.last_updated, stored.last_updated)
        else:  # only the stored one lists it: dropped by a newer Location, unless it changed after it
            take = False
            if newer and old is not None and not _after(old.last_updated, incoming.last_updated):
                continue
        if take and new is not None:
            evses.append(stamp(new))
            taken += 1
        elif old is not None:
            evses.append(old)
    if not newer and not taken:
        return Merge(None, Outcome.OLDER)
    merged = (incoming if newer else stored).model_copy(
        update={"evses": tuple(evses), "updated_at": now, "update_source": source}
    )
    confirmed = _confirmed_since(stored)
    if _content(merged) == _content(stored) and confirmed is not None and now - confirmed < confirm_after:
        return Merge(None, Outcome.UNCHANGED)
    return Merge(merged, Outcome.APPLIED)


def apply_evse_status(
    stored: NetworkLocation | None, report: EvseStatusReport, now: datetime, source: UpdateSource
) -> Merge:
    """What an "EVSE Status Changed" changes (pure; the DynamoDB store makes the same decision in one
    conditional UpdateItem, without reading the Location)."""
    if stored is None:
        return Merge(None, Outcome.UNKNOWN)
    evses = list(stored.evses)
    for index, evse in enumerate(evses):
        if ci_key(evse.uid) != ci_key(report.evse_uid):
            continue
        if not _as_recent(report.last_updated, evse.last_updated):
            return Merge(None, Outcome.OLDER)
        update: dict[str, Any] = {
            "status": report.status,
            "last_updated": report.last_updated,
            "updated_at": now,
            "update_source": source,
        }
        if report.capabilities is not None:
            update["capabilities"] = tuple(report.capabilities)
        evses[index] = evse.model_copy(update=update)
        return Merge(
            stored.model_copy(update={"evses": tuple(evses), "updated_at": now, "update_source": source}),
            Outcome.APPLIED,
        )
    return Merge(None, Outcome.UNKNOWN)


class FeedService:
    """Applies the platform's updates through the store's conditional writes, and counts them."""

    def __init__(self, store: FeedStore, settings: Settings, clock: Callable[[], datetime] = utc_now):
        self.store = store
        self.settings = settings
        self.clock = clock

    @property
    def confirm_after(self) -> timedelta:
        """An unchanged state is confirmed (written again) at most this often: a quarter of the age at which
        an EVSE status counts as stale, so that a platform refreshing in time keeps every status fresh."""
        return timedelta(minutes=self.settings.evse_status_max_age_minutes) / 4

    def handle(self, detail_type: str | None, detail: Any, source: UpdateSource = UpdateSource.PUSH) -> Outcome:
        """One event from the bus: validated, applied, counted. Raises :class:`InvalidFeedEvent`."""
        try:
            if detail_type == LOCATION_UPDATED:
                return self.location(LocationReport.model_validate(detail), source)
            if detail_type == EVSE_STATUS_CHANGED:
                return self.evse_status(EvseStatusReport.model_validate(detail), source)
        except ValidationError as exc:
            kind = "Location" if detail_type == LOCATION_UPDATED else "Evse"
            self.count(kind, source, Outcome.INVALID)
            raise InvalidFeedEvent(describe(exc)) from None
        self.count("Unknown", source, Outcome.INVALID)
        raise InvalidFeedEvent(f"unexpected detail-type {detail_type!r}")

    def location(self, report: LocationReport, source: UpdateSource) -> Outcome:
        incoming = report.to_domain()
        for _ in range(MERGE_ATTEMPTS):
            stored, revision = self.store.read_location(incoming.location_id)
            merge = merge_location(stored, incoming, self.clock(), source, self.confirm_after)
            if merge.location is None or self.store.write_location(merge.location, revision):
                self.count("Location", source, merge.outcome)
                logger.info(
                    "Location update " + merge.outcome.value,
                    extra={"location_id": report.id, "last_updated": format_datetime(report.last_updated)},
                )
                return merge.outcome
        raise FeedConflict(f"Location {report.id} kept changing during {MERGE_ATTEMPTS} merges")

    def evse_status(self, report: EvseStatusReport, source: UpdateSource) -> Outcome:
        outcome = self.store.apply_evse_status(report, self.clock(), source)
        self.count("Evse", source, outcome)
        extra = {
            "location_id": report.location_id,
            "evse_uid": report.evse_uid,
            "status": report.status.value,
            "last_updated": format_datetime(report.last_updated),
        }
        if outcome == Outcome.UNKNOWN:
            logger.warning("EVSE status for an unknown Location or EVSE ignored (push its Location first)", extra=extra)
        else:
            logger.info("EVSE status " + outcome.value, extra=extra)
        return outcome

    def session(self, session: SessionRecord, source: UpdateSource) -> Outcome:
        """A Session from the platform, applied unless the stored one is newer."""
        stamped = session.model_copy(update={"updated_at": self.clock(), "update_source": source})
        outcome = Outcome.APPLIED if self.store.put_session(stamped, only_if_newer=True) else Outcome.OLDER
        self.count("Session", source, outcome)
        return outcome

    def heard(self, source: UpdateSource) -> None:
        """The feed is alive (a valid update arrived, or a pull completed): what the silence alarm watches."""
        self.store.record_heartbeat(self.clock(), source)

    def watch(self) -> float | None:
        """Minutes since the feed was last heard from, as a metric (None: no feed has delivered yet)."""
        last = self.store.last_heartbeat()
        if last is None:
            return None
        minutes = max(0.0, (self.clock() - last[0]).total_seconds() / 60)
        metric("MinutesSinceFeedUpdate", minutes, MetricUnit.Count)
        logger.info("Feed last heard from", extra={"minutes": round(minutes, 1), "source": last[1].value})
        return minutes

    @staticmethod
    def count(kind: str, source: UpdateSource, outcome: Outcome) -> None:
        metric("FeedUpdates", Kind=kind, Source=source.value, Outcome=outcome.value)
