"""The Deliverer through its seams: an in-memory command store, a scripted poster, a fake clock and sleep.

Classification of the eMSP's answers, the backoff, the retry window, the refusals before any POST,
and the conditional attempt bookkeeping that keeps one owner per delivery.
"""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from ocpi_commands.config import Settings
from ocpi_commands.domain.delivery import Deliverer, backoff_seconds, classify
from ocpi_commands.domain.model import (
    CommandRecord,
    CommandStatus,
    DeliveryAttempt,
    DeliveryStatus,
    Party,
    PartyRef,
    ResultSource,
)
from ocpi_commands.domain.ports import HttpAnswer, Transition
from ocpi_commands.ocpi.vocabulary import CommandResultType, CommandType

TNM = PartyRef(country_code="DE", party_id="TNM")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OK = HttpAnswer(200, b'{"status_code":1000,"timestamp":"2026-06-01T12:00:00Z"}')


def envelope(code: int) -> bytes:
    return b'{"status_code":%d,"timestamp":"2026-06-01T12:00:00Z"}' % code


# ------------------------------------------------------------------------------ classification


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (OK, "delivered"),
        (HttpAnswer(200, b"<html>ok</html>"), "delivered"),  # not an envelope, but the POST arrived
        (HttpAnswer(200, envelope(2001)), "rejected"),
        (HttpAnswer(200, envelope(3000)), "retryable"),
        (HttpAnswer(500), "retryable"),
        (HttpAnswer(503), "retryable"),
        (HttpAnswer(429), "retryable"),
        (HttpAnswer(404), "failed"),
        (HttpAnswer(401), "failed"),
        (HttpAnswer(302), "failed"),  # response_url is used verbatim: no redirects
        (HttpAnswer(None, error="ConnectionRefusedError"), "retryable"),
        (HttpAnswer(None, error="TLS error", retryable_error=False), "failed"),
    ],
)
def test_classification_of_the_emsps_answer(answer, outcome):
    assert classify(answer).outcome == outcome


def test_backoff_doubles_from_half_a_second_up_to_eight_with_jitter():
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        waits = [backoff_seconds(attempt) for _ in range(50)]
        assert all(base * 0.8 <= w <= base * 1.2 for w in waits), (attempt, min(waits), max(waits))


# ------------------------------------------------------------------------------ fakes


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


class Store:
    """The two conditional writes the Deliverer makes, with DynamoDB's conditions."""

    def __init__(self, command: CommandRecord):
        self.command = command

    def begin_delivery_attempt(self, command_id: str, owner: str, attempt: DeliveryAttempt) -> Transition:
        c = self.command
        if not (
            c.delivery_status == DeliveryStatus.DELIVERING
            and c.delivery_owner == owner
            and len(c.delivery_attempts) == attempt.number - 1
        ):
            return Transition(False, c)
        self.command = c.model_copy(update={"delivery_attempts": (*c.delivery_attempts, attempt)})
        return Transition(True, self.command)

    def finish_delivery_attempt(self, command_id, owner, attempt, final_status, now, error=None, request_id=None):
        c = self.command
        if c.delivery_owner != owner:
            return Transition(False, c)
        attempts = list(c.delivery_attempts)
        attempts[attempt.number - 1] = attempt
        update = {"delivery_attempts": tuple(attempts), "delivery_request_id": request_id}
        if final_status is not None:
            update["delivery_status"] = final_status
            update["delivery_error"] = error
            if final_status == DeliveryStatus.DELIVERED:
                update["delivered_at"] = now
        self.command = c.model_copy(update=update)
        return Transition(True, self.command)


class Poster:
    """Records what would go on the wire: the request target, the address connected to, the headers."""

    def __init__(self, *answers: HttpAnswer):
        self.answers = list(answers)
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []
        self.addresses: list[str] = []

    def post(self, url, address, body, headers):
        self.posts.append((f"{url.scheme}://{url.host_header}{url.target}", body, dict(headers)))
        self.addresses.append(address)
        return self.answers.pop(0) if self.answers else OK


class Resolver:
    """DNS as a script: one answer (a list of addresses, or an exception) per resolution."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return list(answer)


def resolved(url: str = "https://cb.emsp.example.com/r/1?x=1") -> CommandRecord:
    return CommandRecord(
        command_id="c1",
        command_type=CommandType.START_SESSION,
        party=TNM,
        request={},
        response_url=url,
        response={},
        timeout=30,
        accepted_at=T0,
        deadline=T0 + timedelta(seconds=30),
        request_id="r1",
        correlation_id="corr-1",
        status=CommandStatus.RESOLVED,
        result=CommandResultType.ACCEPTED,
        result_source=ResultSource.CHARGE_POINT,
        resolved_at=T0,
        delivery_status=DeliveryStatus.DELIVERING,
        delivery_owner="owner-1",
        delivery_attempts=(DeliveryAttempt(number=1, started_at=T0),),
    )


class Wire:
    """The 2.2.1 wire, with a fixed body (the real dialects are exercised below)."""

    def body(self, command):
        return b'{"result":"ACCEPTED"}'

    def raw_token(self, ocpi_version):
        return False

    def routing_headers(self, ocpi_version):
        return True


def deliverer(store, poster, clock, window=30, addresses=("93.184.216.34",), party=None, resolver=None, wire=None):
    settings = Settings(table_name="t", delivery_retry_window_seconds=window)
    emsp = party or Party(ref=TNM, token_sha256="0" * 64, outbound_token="their-token")
    return Deliverer(
        store,
        settings,
        lambda ref: emsp,
        poster,
        resolver or Resolver(addresses),
        wire or Wire(),
        clock,
        clock.sleep,
    )


# ------------------------------------------------------------------------------ delivering


def test_delivered_at_once_with_the_ocpi_headers_and_the_url_verbatim():
    clock, poster = Clock(), Poster(OK)
    store = Store(resolved())
    status = deliverer(store, poster, clock).deliver(store.command, "owner-1")
    assert status == DeliveryStatus.DELIVERED
    [(url, body, headers)] = poster.posts
    assert url == "https://cb.emsp.example.com/r/1?x=1" and body == b'{"result":"ACCEPTED"}'
    assert headers["Authorization"] == "Token dGhlaXItdG9rZW4="
    assert headers["X-Correlation-ID"] == "corr-1" and headers["X-Request-ID"]
    assert (headers["OCPI-to-country-code"], headers["OCPI-to-party-id"]) == ("DE", "TNM")
    assert store.command.delivery_attempts[0].outcome == "delivered" and store.command.delivered_at == T0


def test_transient_failures_are_retried_with_backoff_until_delivered():
    clock, poster = Clock(), Poster(HttpAnswer(503), HttpAnswer(None, error="timeout"), OK)
    store = Store(resolved())
    assert deliverer(store, poster, clock).deliver(store.command, "owner-1") == DeliveryStatus.DELIVERED
    assert len(poster.posts) == 3 and len(clock.slept) == 2
    assert 0.4 <= clock.slept[0] <= 0.6 and 0.8 <= clock.slept[1] <= 1.2
    assert [a.outcome for a in store.command.delivery_attempts] == ["retryable", "retryable", "delivered"]


def test_every_attempt_has_its_own_request_id_and_the_commands_correlation_id():
    clock, poster = Clock(), Poster(HttpAnswer(503), HttpAnswer(500), OK)
    store = Store(resolved())
    assert deliverer(store, poster, clock).deliver(store.command, "owner-1") == DeliveryStatus.DELIVERED
    request_ids = [h["X-Request-ID"] for _, _, h in poster.posts]
    assert len(set(request_ids)) == 3 and all(request_ids)  # OCPI: unique per request
    assert {h["X-Correlation-ID"] for _, _, h in poster.posts} == {"corr-1"}  # the command's, on every retry
    assert [a.request_id for a in store.command.delivery_attempts] == request_ids  # `commands show` tells them


def test_the_retry_window_ends_the_retries():
    clock, poster = Clock(), Poster(*[HttpAnswer(500)] * 50)
    store = Store(resolved())
    assert deliverer(store, poster, clock, window=5).deliver(store.command, "owner-1") == DeliveryStatus.FAILED
    assert sum(clock.slept) < 5 and len(poster.posts) == len(clock.slept) + 1
    assert store.command.delivery_status == DeliveryStatus.FAILED


def test_a_zero_window_means_exactly_one_attempt():
    clock, poster = Clock(), Poster(HttpAnswer(500), OK)
    store = Store(resolved())
    assert deliverer(store, poster, clock, window=0).deliver(store.command, "owner-1") == DeliveryStatus.FAILED
    assert len(poster.posts) == 1 and clock.slept == []


@pytest.mark.parametrize("answer", [HttpAnswer(200, envelope(2001)), HttpAnswer(404), HttpAnswer(301)])
def test_final_refusals_by_the_emsp_are_not_retried(answer):
    clock, poster = Clock(), Poster(answer, OK)
    store = Store(resolved())
    assert deliverer(store, poster, clock).deliver(store.command, "owner-1") == DeliveryStatus.FAILED
    assert len(poster.posts) == 1


def test_a_url_resolving_to_a_private_address_is_refused_without_a_post():
    clock, poster = Clock(), Poster()
    store = Store(resolved())
    d = deliverer(store, poster, clock, addresses=("10.0.0.5",))
    assert d.deliver(store.command, "owner-1") == DeliveryStatus.FAILED
    assert poster.posts == [] and "private address (10.0.0.5)" in store.command.delivery_error


def test_no_outbound_token_means_no_post():
    clock, poster = Clock(), Poster()
    store = Store(resolved())
    party = Party(ref=TNM, token_sha256="0" * 64)
    assert deliverer(store, poster, clock, party=party).deliver(store.command, "owner-1") == DeliveryStatus.FAILED
    assert poster.posts == [] and "no credentials token" in store.command.delivery_error


def test_an_invocation_that_lost_the_delivery_stops_before_posting_again():
    clock, poster = Clock(), Poster(HttpAnswer(503), OK)
    store = Store(resolved())
    d = deliverer(store, poster, clock)
    original = store.begin_delivery_attempt

    def taken_over(command_id, owner, attempt):
        store.command = store.command.model_copy(update={"delivery_owner": "someone-else"})
        return original(command_id, owner, attempt)

    store.begin_delivery_attempt = taken_over
    assert d.deliver(store.command, "owner-1") == DeliveryStatus.FAILED
    assert len(poster.posts) == 1


def test_the_lease_tells_a_live_delivery_from_an_abandoned_one():
    clock, store = Clock(), Store(resolved())
    d = deliverer(store, Poster(), clock)
    assert not d.abandoned(store.command, T0 + d.lease - timedelta(seconds=1))
    assert d.abandoned(store.command, T0 + d.lease + timedelta(seconds=1))


def test_resuming_after_the_previous_invocation_stopped_between_attempts_opens_the_next_one():
    clock, poster = Clock(), Poster(OK)
    first = DeliveryAttempt(number=1, started_at=T0, outcome="retryable", duration_ms=10)
    store = Store(resolved().model_copy(update={"delivery_attempts": (first,), "delivery_request_id": "rid-1"}))
    assert deliverer(store, poster, clock).deliver(store.command, "owner-1") == DeliveryStatus.DELIVERED
    assert [a.number for a in store.command.delivery_attempts] == [1, 2]
    assert poster.posts[0][2]["X-Request-ID"] not in ("rid-1", "")  # a new attempt, a new X-Request-ID


# ------------------------------------------------------------------------------ what is connected to


def test_a_host_that_does_not_resolve_is_never_posted_to():
    clock, poster = Clock(), Poster()
    store = Store(resolved())
    d = deliverer(store, poster, clock, window=0, resolver=Resolver(OSError("Name or service not known")))
    assert d.deliver(store.command, "owner-1") == DeliveryStatus.FAILED
    assert poster.posts == []
    assert "does not resolve" in store.command.delivery_error


def test_a_resolution_failure_is_retried_like_a_connection_error_and_still_not_posted():
    clock, poster = Clock(), Poster()
    store = Store(resolved())
    resolver = Resolver(OSError("SERVFAIL"), ["93.184.216.34"])
    assert (
        deliverer(store, poster, clock, resolver=resolver).deliver(store.command, "owner-1") == DeliveryStatus.DELIVERED
    )
    assert [a.outcome for a in store.command.delivery_attempts] == ["retryable", "delivered"]
    assert len(poster.posts) == 1


def test_the_addresses_are_checked_before_every_attempt():
    """DNS rebinding between two attempts: public for the first, the metadata address for the second."""
    clock, poster = Clock(), Poster(HttpAnswer(503), OK)
    store = Store(resolved())
    resolver = Resolver(["93.184.216.34"], ["169.254.169.254"])
    d = deliverer(store, poster, clock, resolver=resolver)
    assert d.deliver(store.command, "owner-1") == DeliveryStatus.FAILED
    assert resolver.asked == [("cb.emsp.example.com", 443)] * 2
    assert poster.addresses == ["93.184.216.34"]  # the second attempt was never made
    assert [a.outcome for a in store.command.delivery_attempts] == ["retryable", "failed"]
    assert "link-local address (169.254.169.254)" in store.command.delivery_error


def test_the_post_goes_to_the_checked_address_with_the_original_host():
    clock, poster = Clock(), Poster(OK)
    store = Store(resolved("https://cb.emsp.example.com:8443/r/1?x=1"))
    resolver = Resolver(["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
    assert (
        deliverer(store, poster, clock, resolver=resolver).deliver(store.command, "owner-1") == DeliveryStatus.DELIVERED
    )
    assert poster.addresses == ["93.184.216.34"]
    assert poster.posts[0][0] == "https://cb.emsp.example.com:8443/r/1?x=1"


def test_an_ip_literal_is_connected_to_without_resolution():
    clock, poster = Clock(), Poster(OK)
    store = Store(resolved("https://93.184.216.34/cb"))
    resolver = Resolver(AssertionError("an IP literal is not resolved"))
    assert (
        deliverer(store, poster, clock, resolver=resolver).deliver(store.command, "owner-1") == DeliveryStatus.DELIVERED
    )
    assert poster.addresses == ["93.184.216.34"]


def test_the_result_comes_from_the_cpo_party_the_command_was_addressed_to():
    clock, poster = Clock(), Poster(OK)
    command = resolved().model_copy(update={"cpo": PartyRef(country_code="NL", party_id="CP2")})
    store = Store(command)
    deliverer(store, poster, clock).deliver(store.command, "owner-1")
    headers = poster.posts[0][2]
    assert (headers["OCPI-from-country-code"], headers["OCPI-from-party-id"]) == ("NL", "CP2")


def test_a_hub_routed_result_goes_with_the_hubs_token_and_allow_list_naming_the_client():
    hub_ref = PartyRef(country_code="NL", party_id="HUB")
    parties = {
        TNM.key: Party(ref=TNM, token_sha256="1" * 64, outbound_token="tnm-own-token"),
        hub_ref.key: Party(
            ref=hub_ref,
            token_sha256="2" * 64,
            outbound_token="hub-token",
            hub_clients=("DE*TNM",),
            allowed_response_url_hosts=("cb.emsp.example.com",),
        ),
    }
    settings = Settings(table_name="t", delivery_retry_window_seconds=0)

    def deliver(command):
        clock, poster = Clock(), Poster(OK)
        store = Store(command)
        lookup = lambda ref: parties.get(ref.key)  # noqa: E731
        status = Deliverer(
            store, settings, lookup, poster, Resolver(("93.184.216.34",)), Wire(), clock, clock.sleep
        ).deliver(store.command, "owner-1")
        return status, poster.posts, store.command

    status, posts, _ = deliver(resolved().model_copy(update={"partner": hub_ref}))
    assert status == DeliveryStatus.DELIVERED
    headers = posts[0][2]
    assert headers["Authorization"] == "Token " + base64.b64encode(b"hub-token").decode()
    assert (headers["OCPI-to-country-code"], headers["OCPI-to-party-id"]) == ("DE", "TNM")
    # The hub's allow-list applies, not the client's (which has none).
    status, posts, command = deliver(
        resolved("https://elsewhere.example.com/r/1").model_copy(update={"partner": hub_ref})
    )
    assert status == DeliveryStatus.FAILED and posts == [] and "elsewhere.example.com" in command.delivery_error


def test_a_2_1_1_result_is_its_command_response_with_the_raw_token_and_no_routing_headers():
    from ocpi_commands.ocpi.dialects import RESULT_WIRE

    clock, poster = Clock(), Poster(OK)
    store = Store(resolved().model_copy(update={"ocpi_version": "2.1.1", "result": CommandResultType.EVSE_OCCUPIED}))
    assert (
        deliverer(store, poster, clock, wire=RESULT_WIRE).deliver(store.command, "owner-1") == DeliveryStatus.DELIVERED
    )
    [(_, body, headers)] = poster.posts
    assert body == b'{"result":"REJECTED"}'  # 2.1.1 has no EVSE_OCCUPIED: its CommandResponseType says REJECTED
    assert headers["Authorization"] == "Token their-token"
    assert not [h for h in headers if h.startswith("OCPI-")]
    assert headers["X-Request-ID"] and headers["X-Correlation-ID"] == "corr-1"  # harmless, and traceable


def test_2_2_1_and_2_3_0_results_are_command_results_with_base64_tokens():
    from ocpi_commands.ocpi.dialects import RESULT_WIRE

    for version in ("2.2.1", "2.3.0"):
        clock, poster = Clock(), Poster(OK)
        command = resolved().model_copy(
            update={"ocpi_version": version, "result_message": [{"language": "en", "text": "Started"}]}
        )
        store = Store(command)
        deliverer(store, poster, clock, wire=RESULT_WIRE).deliver(store.command, "owner-1")
        [(_, body, headers)] = poster.posts
        assert body == b'{"result":"ACCEPTED","message":[{"language":"en","text":"Started"}]}'
        assert headers["Authorization"] == "Token dGhlaXItdG9rZW4=" and headers["OCPI-to-party-id"] == "TNM"


def test_a_legacy_peer_gets_the_raw_token_it_sends_us():
    clock, poster = Clock(), Poster(OK)
    store = Store(resolved())
    party = Party(ref=TNM, token_sha256="0" * 64, outbound_token="their-token", legacy_token_encoding=True)
    deliverer(store, poster, clock, party=party).deliver(store.command, "owner-1")
    assert poster.posts[0][2]["Authorization"] == "Token their-token"


def test_a_result_the_version_cannot_say_is_recorded_not_sent():
    from ocpi_commands.ocpi.dialects import RESULT_WIRE

    clock, poster = Clock(), Poster(OK)
    command = resolved().model_copy(update={"ocpi_version": "2.1.1", "result": CommandResultType.CANCELED_RESERVATION})
    store = Store(command)
    status = deliverer(store, poster, clock, wire=RESULT_WIRE).deliver(store.command, "owner-1")
    assert status == DeliveryStatus.NOT_SENT and poster.posts == []
    assert "2.1.1" in store.command.delivery_error and store.command.delivery_attempts[0].outcome == "not_sent"
