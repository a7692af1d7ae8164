"""The pull's paging rules, without a network: Link rel="next" read as RFC 8288 says, a Link loop, a total that
falls mid-crawl and a failing page stop the pull short and keep the high-water mark."""

from datetime import UTC, datetime, timedelta

import pytest
from test_feed import MemoryStore

from ocpi_commands.adapters.ocpi_client import next_link
from ocpi_commands.config import Settings
from ocpi_commands.domain.feed import FeedService
from ocpi_commands.domain.ports import PlatformPage, PullState
from ocpi_commands.domain.pull import Puller

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ENDPOINT = "https://cpo.platform.invalid/ocpi/2.2.1/locations"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<https://p.invalid/l?offset=10&limit=10>; rel="next"', "https://p.invalid/l?offset=10&limit=10"),
        ("<https://p.invalid/l?offset=10>; rel=next", "https://p.invalid/l?offset=10"),
        ('<https://p.invalid/first>; rel="first", <https://p.invalid/n>; rel="next"', "https://p.invalid/n"),
        ('<https://p.invalid/n>; title="x"; REL="prev next"', "https://p.invalid/n"),
        ('<https://p.invalid/p>; rel="prev"', None),
        ("", None),
        (None, None),
    ],
)
def test_next_link(header, expected):
    assert next_link(header) == expected


def location(n: int, minutes: int) -> dict:
    at = (NOW - timedelta(hours=1) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": f"L{n}", "last_updated": at, "evses": [{"uid": f"E{n}", "status": "AVAILABLE", "last_updated": at}]}


class Pages:
    """A platform's answers, by URL (what ``get_page`` is asked for is recorded)."""

    def __init__(self, pages: dict[str, PlatformPage]):
        self.pages = pages
        self.asked: list[str] = []

    def get_page(self, url, authorization, headers):
        self.asked.append(url)
        first = url.split("?")[0] == ENDPOINT and "offset" not in url
        return self.pages["first" if first else url]


class PullStore(MemoryStore):
    def __init__(self):
        super().__init__()
        self.state: dict[str, PullState] = {}
        self.finished: list[tuple] = []

    def begin_pull(self, kind, now, lease_until):
        return True

    def get_pull_state(self, kind):
        return self.state.get(kind, PullState())

    def finish_pull(self, kind, now, high_water, error):
        self.finished.append((kind, high_water, error))
        if error is None and high_water is not None:
            self.state[kind] = PullState(high_water=high_water)


def puller(pages: Pages, store: PullStore) -> Puller:
    settings = Settings(table_name="t", platform_locations_url=ENDPOINT, platform_token_secret_arn="arn")
    feed = FeedService(store, settings, clock=lambda: NOW)
    return Puller(feed, store, pages, lambda: "tok", settings, lambda raw: raw, clock=lambda: NOW)


def page(data, next_url=None, total=None, status=200, code=1000) -> PlatformPage:
    return PlatformPage(status, code, data, next_url=next_url, total_count=total, limit=2)


def test_every_page_is_read_and_the_mark_moves_only_then(monkeypatch):
    monkeypatch.setattr("ocpi_commands.domain.feed.metric", lambda *a, **k: None)
    monkeypatch.setattr("ocpi_commands.domain.pull.metric", lambda *a, **k: None)
    pages = Pages(
        {
            "first": page([location(1, 1), location(2, 2)], "https://cpo.platform.invalid/next?o=2", total=3),
            "https://cpo.platform.invalid/next?o=2": page([location(3, 3)], None, total=3),
        }
    )
    store = PullStore()
    report = puller(pages, store).pull("locations", ENDPOINT)
    assert report.complete and (report.pages, report.objects, report.applied, report.limit) == (2, 3, 3, 2)
    assert pages.asked[1] == "https://cpo.platform.invalid/next?o=2"  # verbatim, even on another path
    assert store.finished[-1] == ("locations", NOW - timedelta(hours=1) + timedelta(minutes=3), None)


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        (page([location(3, 3)], "https://cpo.platform.invalid/next?o=2", total=3), "Link rel=next loops"),
        (page([location(3, 3)], None, total=2), "X-Total-Count fell from 3 to 2"),
        (page(None, None, status=503, code=None), "HTTP 503"),
        (page({"not": "a list"}, None, total=3), "status_code 1000"),
    ],
)
def test_a_pull_that_stops_short_keeps_the_mark(monkeypatch, second, problem):
    monkeypatch.setattr("ocpi_commands.domain.feed.metric", lambda *a, **k: None)
    monkeypatch.setattr("ocpi_commands.domain.pull.metric", lambda *a, **k: None)
    pages = Pages(
        {
            "first": page([location(1, 1), location(2, 2)], "https://cpo.platform.invalid/next?o=2", total=3),
            "https://cpo.platform.invalid/next?o=2": second,
        }
    )
    store = PullStore()
    report = puller(pages, store).pull("locations", ENDPOINT)
    assert not report.complete and problem in report.error
    assert store.finished[-1][1] is None and "locations" not in store.state
    assert len(pages.asked) <= 3  # bounded, whatever the platform answers
