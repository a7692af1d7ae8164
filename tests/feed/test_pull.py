"""Pull: the scheduled function pages through the CPO platform's own OCPI Sender interface (a real HTTP server
on 127.0.0.1, started by the fixture) with OCPI's pagination, the token from Secrets Manager, and applies
what changed through the same conditional writes as the push."""

import base64
import json
from datetime import UTC, datetime, timedelta

from feed_support import PLATFORM_TOKEN, JsonLines

from ocpi_commands.domain.model import UpdateSource
from ocpi_commands.ocpi.types import format_datetime, parse_datetime

# The platform's objects changed hours ago, ten minutes apart: far outside the pull's overlap (5 min).
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def at(minutes: float) -> str:
    return format_datetime(BASE + timedelta(minutes=minutes))


def pulled_location(n: int, minutes: float, status: str = "AVAILABLE") -> dict:
    return {
        "country_code": "NL",
        "party_id": "CPO",
        "id": f"LOC-PULL-{n}",
        "name": f"Pulled hub {n}",
        "publish": True,
        "address": "Pullstraat 1",
        "city": "Utrecht",
        "country": "NLD",
        "coordinates": {"latitude": "52.0", "longitude": "5.1"},
        "time_zone": "Europe/Amsterdam",
        "evses": [
            {
                "uid": f"PL{n}",
                "status": status,
                "capabilities": ["REMOTE_START_STOP_CAPABLE"],
                "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE"}],
                "last_updated": at(minutes),
            }
        ],
        "last_updated": at(minutes),
    }


def pulled_session(session_id: str, minutes: float, status: str = "ACTIVE") -> dict:
    return {
        "country_code": "NL",
        "party_id": "CPO",
        "id": session_id,
        "start_date_time": at(minutes),
        "kwh": 1.5,
        "cdr_token": {
            "country_code": "DE",
            "party_id": "TNM",
            "uid": "PULL-UID-1",
            "type": "APP_USER",
            "contract_id": "DE-TNM-P1",
        },
        "auth_method": "COMMAND",
        "location_id": "LOC1",
        "evse_uid": "3256",
        "connector_id": "1",
        "currency": "EUR",
        "status": status,
        "last_updated": at(minutes),
    }


def report(result: dict, kind: str) -> dict:
    return next(r for r in result["pulls"] if r["kind"] == kind)


def test_a_first_pull_reads_every_page_and_an_incremental_one_only_what_changed(feed):
    platform = feed.platform
    for n in range(7):
        platform.put("locations", pulled_location(n, minutes=10 * n))
    platform.put("sessions", pulled_session("SES-PULL-1", minutes=5))

    first = feed.pull()
    locations = report(first, "locations")
    assert locations["complete"] and locations["error"] is None
    assert (locations["pages"], locations["objects"], locations["applied"]) == (3, 7, 7)
    assert (locations["total_count"], locations["limit"]) == (7, 3)

    asked = platform.requests_for("locations")
    assert len(asked) == 3
    assert asked[0].query == {"limit": "10"}  # the first pull of Locations: everything
    assert [r.query for r in asked[1:]] == [{"offset": "3", "limit": "3"}, {"offset": "6", "limit": "3"}]
    token = "Token " + base64.b64encode(PLATFORM_TOKEN.encode()).decode()
    for request in asked:
        assert request.headers["authorization"] == token
        assert (request.headers["ocpi-from-country-code"], request.headers["ocpi-from-party-id"]) == ("NL", "CPO")
        assert request.headers["x-request-id"] and request.headers["x-correlation-id"]

    stored = feed.location("LOC-PULL-3")
    assert stored.update_source == UpdateSource.PULL and stored.evses[0].update_source == UpdateSource.PULL
    assert feed.start_session("LOC-PULL-3", "PL3").result == "ACCEPTED"

    sessions = report(first, "sessions")
    assert sessions["complete"] and sessions["applied"] == 1
    date_from = parse_datetime(platform.requests_for("sessions")[0].query["date_from"])
    assert timedelta(hours=23) < datetime.now(UTC) - date_from < timedelta(hours=25)  # Sessions require date_from
    session = feed.repository.get_session("SES-PULL-1")
    assert session.update_source == UpdateSource.PULL and session.owner.party_id == "TNM"

    # The platform changes one Location: the next pull asks from the high-water mark (less the overlap).
    platform.put("locations", pulled_location(2, minutes=65, status="OUTOFORDER"))
    before = len(platform.requests_for("locations"))
    second = report(feed.pull(), "locations")
    asked = platform.requests_for("locations")[before:]
    assert asked[0].query == {"limit": "10", "date_from": at(60 - 5)}
    assert (second["complete"], second["pages"], second["objects"], second["applied"]) == (True, 1, 2, 1)
    refused = feed.start_session("LOC-PULL-2", "PL2")
    assert refused.result == "REJECTED"  # the pulled status decides


def test_an_incomplete_pull_keeps_the_mark_and_the_next_one_asks_again(feed):
    platform = feed.platform
    before = feed.store.get_pull_state("locations").high_water
    platform.failing["locations"] = 500
    try:
        with JsonLines() as logs:
            failed = report(feed.pull(), "locations")
    finally:
        platform.failing.clear()
    assert not failed["complete"] and "HTTP 500" in failed["error"]
    assert logs.with_message("Pull incomplete")
    assert feed.store.get_pull_state("locations").high_water == before
    mark = platform.requests_for("locations")[-1].query["date_from"]

    platform.put("locations", pulled_location(9, minutes=70))
    again = report(feed.pull(), "locations")
    assert again["complete"]
    assert platform.requests_for("locations")[-1 - (again["pages"] - 1)].query["date_from"] == mark
    assert feed.store.get_pull_state("locations").high_water == BASE + timedelta(minutes=70)


def test_an_invalid_pulled_object_is_logged_and_the_others_applied(feed):
    platform = feed.platform
    broken = pulled_location(20, minutes=80)
    del broken["evses"][0]["status"]
    platform.put("locations", broken)
    platform.put("locations", pulled_location(21, minutes=81))
    with JsonLines() as logs:
        result = report(feed.pull(), "locations")
    assert result["complete"] and result["invalid"] == 1
    (line,) = logs.with_message("Invalid object in a pull ignored")
    assert line["id"] == "LOC-PULL-20" and "evses.0.status" in line["problems"]
    assert feed.location("LOC-PULL-20") is None and feed.location("LOC-PULL-21") is not None


def test_the_token_is_never_logged_and_a_wrong_one_is_a_failed_pull(feed):
    feed.local.client("secretsmanager").put_secret_value(SecretId=feed.secret_arn, SecretString="not-the-token")
    feed.configure()  # a new graph: the secret is read again
    try:
        with JsonLines() as logs:
            result = report(feed.pull(), "locations")
    finally:
        feed.local.client("secretsmanager").put_secret_value(
            SecretId=feed.secret_arn, SecretString=json.dumps({"token": PLATFORM_TOKEN})
        )
        feed.configure()
    assert not result["complete"] and "HTTP 401" in result["error"]
    printed = str(logs.lines)
    assert "not-the-token" not in printed and PLATFORM_TOKEN not in printed
    assert base64.b64encode(b"not-the-token").decode() not in printed
