"""Pull: the CPO platform's own OCPI Sender interface (Locations, and Sessions when it offers them).

A scheduled function calls :meth:`Puller.pull_all`. Each kind is pulled as OCPI's pagination says:
the first request asks for what changed since the stored high-water mark (``date_from``, inclusive, less
an overlap for objects committed late; Sessions require it, so their first pull asks for the last hours),
every next page is the ``Link`` rel="next" URL verbatim until there is none, and ``X-Total-Count`` /
``X-Limit`` are logged. Every object goes through the same conditional writes as the push events (an
invalid one is logged and counted, the valid ones are applied, as OCPI asks of a GET client). Only a
pull that read every page moves the mark; one that stops short (an error, a total that fell mid-crawl)
leaves it, and the next pull reads the window again: the writes are idempotent.
"""

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlencode

from pydantic import ValidationError

from ocpi_commands.config import Settings
from ocpi_commands.domain.events import LocationReport
from ocpi_commands.domain.feed import FeedService, describe
from ocpi_commands.domain.model import SessionRecord, UpdateSource
from ocpi_commands.domain.ports import FeedOutcome, FeedStore, PlatformReader
from ocpi_commands.observability import logger, metric
from ocpi_commands.ocpi.envelope import Header
from ocpi_commands.ocpi.types import format_datetime, utc_now

# Longer than the function may run (15 minutes), so that a pull that died frees its lease.
LEASE = timedelta(minutes=16)


class PullReport(NamedTuple):
    kind: str
    complete: bool
    pages: int = 0
    objects: int = 0
    applied: int = 0
    invalid: int = 0
    total_count: int | None = None  # X-Total-Count of the first page
    limit: int | None = None  # X-Limit: the page size the platform used (at most the limit asked)
    error: str | None = None


class Puller:
    def __init__(
        self,
        feed: FeedService,
        store: FeedStore,
        reader: PlatformReader,
        token: Callable[[], str],
        settings: Settings,
        parse_session: Callable[[Any], SessionRecord],
        clock: Callable[[], datetime] = utc_now,
    ):
        self.feed = feed
        self.store = store
        self.reader = reader
        self.token = token
        self.settings = settings
        self.parse_session = parse_session
        self.clock = clock

    def pull_all(self) -> list[PullReport]:
        endpoints = {"locations": self.settings.platform_locations_url, "sessions": self.settings.platform_sessions_url}
        reports = [self.pull(kind, url) for kind, url in endpoints.items() if url]
        if not reports:
            logger.warning("No platform endpoint to pull (PlatformLocationsUrl / PlatformSessionsUrl)")
        if any(r.complete for r in reports):
            self.feed.heard(UpdateSource.PULL)
        return reports

    def _authorization(self) -> str:
        return "Token " + base64.b64encode(self.token().encode()).decode()

    def _headers(self) -> dict[str, str]:
        party = self.settings.our_parties[0]
        # The request comes from this CPO's own module, to its own platform: both ends are the CPO party.
        return {
            Header.FROM_COUNTRY_CODE: party.country_code,
            Header.FROM_PARTY_ID: party.party_id,
            Header.TO_COUNTRY_CODE: party.country_code,
            Header.TO_PARTY_ID: party.party_id,
        }

    def _first_url(self, kind: str, endpoint: str, high_water: datetime | None, now: datetime) -> str:
        query: dict[str, str] = {"limit": str(self.settings.feed_pull_page_limit)}
        if high_water is not None:
            query["date_from"] = format_datetime(
                high_water - timedelta(seconds=self.settings.feed_pull_overlap_seconds)
            )
        elif kind == "sessions":  # date_from is required for Sessions
            query["date_from"] = format_datetime(now - timedelta(hours=self.settings.sessions_pull_lookback_hours))
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)

    def pull(self, kind: str, endpoint: str) -> PullReport:
        now = self.clock()
        if not self.store.begin_pull(kind, now, now + LEASE):
            logger.info("A pull is already running", extra={"kind": kind})
            return PullReport(kind, complete=False, error="already running")
        state = self.store.get_pull_state(kind)
        high_water, report = state.high_water, PullReport(kind, complete=False)
        try:
            authorization, headers = self._authorization(), self._headers()
            url: str | None = self._first_url(kind, endpoint, state.high_water, now)
            seen: set[str] = set()
            while url is not None:
                if url in seen or report.pages >= self.settings.feed_pull_max_pages:
                    report = report._replace(error=f"stopped after {report.pages} pages (Link rel=next loops?)")
                    break
                seen.add(url)
                page = self.reader.get_page(url, authorization, headers)
                report = report._replace(pages=report.pages + 1)
                if page.error or page.http_status != 200 or page.status_code != 1000 or not isinstance(page.data, list):
                    problem = page.error or f"HTTP {page.http_status}, status_code {page.status_code}"
                    report = report._replace(error=f"page {report.pages}: {problem}")
                    break
                if (
                    report.total_count is not None
                    and page.total_count is not None
                    and page.total_count < report.total_count
                ):
                    report = report._replace(
                        error=f"X-Total-Count fell from {report.total_count} to {page.total_count}"
                    )
                    break
                report = report._replace(
                    total_count=page.total_count if report.total_count is None else report.total_count,
                    limit=page.limit if page.limit is not None else report.limit,
                )
                for raw in page.data:
                    outcome, last_updated = self._apply(kind, raw)
                    report = report._replace(
                        objects=report.objects + 1,
                        applied=report.applied + (outcome == FeedOutcome.APPLIED),
                        invalid=report.invalid + (outcome == FeedOutcome.INVALID),
                    )
                    if last_updated is not None and (high_water is None or last_updated > high_water):
                        high_water = last_updated
                url = page.next_url
            else:
                report = report._replace(complete=True)
        finally:
            self.store.finish_pull(kind, self.clock(), high_water if report.complete else None, report.error)
        self._tell(report, endpoint)
        return report

    def _apply(self, kind: str, raw: Any) -> tuple[FeedOutcome, datetime | None]:
        try:
            if kind == "locations":
                location = LocationReport.model_validate(raw)
                return self.feed.location(location, UpdateSource.PULL), location.last_updated
            session = self.parse_session(raw)
            if session.last_updated is None:
                raise ValueError("last_updated: Field required")
            return self.feed.session(session, UpdateSource.PULL), session.last_updated
        except (ValidationError, ValueError) as exc:
            problems = describe(exc) if isinstance(exc, ValidationError) else str(exc)
            name = raw.get("id") if isinstance(raw, dict) else None
            logger.warning("Invalid object in a pull ignored", extra={"kind": kind, "id": name, "problems": problems})
            FeedService.count("Location" if kind == "locations" else "Session", UpdateSource.PULL, FeedOutcome.INVALID)
            return FeedOutcome.INVALID, None

    @staticmethod
    def _tell(report: PullReport, endpoint: str) -> None:
        metric("FeedPullPages", report.pages, Kind=report.kind)
        extra = {**report._asdict(), "endpoint": endpoint}
        if report.complete:
            logger.info("Pull complete", extra=extra)
        else:
            metric("FeedPullFailures", Kind=report.kind)
            logger.error("Pull incomplete: the next pull asks for the same window again", extra=extra)
