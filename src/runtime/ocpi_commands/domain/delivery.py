"""Delivery of a CommandResult to the eMSP's ``response_url``.

* The body is the bare CommandResult (no envelope), POSTed to ``response_url`` exactly as received,
  with ``Authorization: Token <base64 of the token the eMSP issued us>``, an X-Request-ID of its own
  for every attempt (OCPI: unique per request), the command's original X-Correlation-ID (the same on
  every attempt, so the eMSP can tell a retry) and the routing headers FROM = this CPO, TO = the eMSP.
* Before every attempt the host is resolved and every address checked (``url_policy``); the POST
  goes to the address that was checked (pinned: DNS cannot change between the check and the
  connection). A host that does not resolve is not POSTed to; an address the policy refuses ends
  the delivery.
* Transient failures (connection error, timeout, a host that does not resolve, HTTP 5xx/429, OCPI
  3xxx) are retried with exponential backoff while the retry window allows
  (``DELIVERY_RETRY_WINDOW_SECONDS``, 30 s by default; 0 = one attempt: OCPI itself requires no
  retries). HTTP 4xx, redirects and OCPI 2xxx answers are final.
* Every attempt is opened and closed on the command record by conditional writes held by one
  owner, so two invocations never deliver the same CommandResult concurrently.
* Connections are pooled per process (reused across warm invocations); every POST has a
  connect and a read timeout.
"""

import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from ocpi_commands.config import Settings
from ocpi_commands.domain.auth import encode_token
from ocpi_commands.domain.model import CommandRecord, DeliveryAttempt, DeliveryStatus, Party, PartyRef
from ocpi_commands.domain.ports import AddressResolver, CommandStore, HttpAnswer, HttpPoster, ResultWire
from ocpi_commands.domain.url_policy import (
    POLICIES,
    ParsedUrl,
    ResponseUrlRefused,
    check_response_url,
    checked_address,
)
from ocpi_commands.observability import logger, metric
from ocpi_commands.ocpi.envelope import Header
from ocpi_commands.ocpi.types import utc_now

_BACKOFF_BASE_SECONDS = 0.5
_BACKOFF_CAP_SECONDS = 8.0


class Classified(NamedTuple):
    outcome: str  # "delivered" | "rejected" | "retryable" | "failed"
    ocpi_status_code: int | None = None
    error: str | None = None


def classify(answer: HttpAnswer) -> Classified:
    """Map the eMSP's answer to an outcome (README, "Delivery of CommandResults")."""
    if answer.status is None:
        return Classified("retryable" if answer.retryable_error else "failed", error=answer.error)
    if answer.status == 429 or answer.status >= 500:
        return Classified("retryable", error=f"HTTP {answer.status}")
    if 300 <= answer.status < 400:
        return Classified(
            "failed", error=f"HTTP {answer.status}: redirects are not followed (response_url is used verbatim)"
        )
    if answer.status >= 400:
        return Classified("failed", error=f"HTTP {answer.status}")
    try:
        envelope = json.loads(answer.body)
        status_code = int(envelope["status_code"])
    except (ValueError, TypeError, KeyError):
        return Classified("delivered", error="the answer is not an OCPI envelope")
    if 1000 <= status_code < 2000:
        return Classified("delivered", status_code)
    if 3000 <= status_code < 4000:
        return Classified("retryable", status_code, f"OCPI status_code {status_code}")
    return Classified("rejected", status_code, f"OCPI status_code {status_code}")


def backoff_seconds(attempt_number: int) -> float:
    """0.5, 1, 2, 4, 8, 8 ... seconds (+-20% jitter) before attempt ``attempt_number + 1``."""
    base = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt_number - 1))
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography


class Deliverer:
    """POSTs a command's recorded CommandResult to its response_url (see the module docstring)."""

    def __init__(
        self,
        repository: CommandStore,
        settings: Settings,
        party_lookup: Callable[[PartyRef], Party | None],
        poster: HttpPoster,
        resolver: AddressResolver,
        wire: ResultWire,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.repository = repository
        self.settings = settings
        self.party_lookup = party_lookup
        self.poster = poster
        self.resolver = resolver
        self.wire = wire
        self.clock = clock
        self.sleep = sleep

    @property
    def lease(self) -> timedelta:
        """How long a delivering invocation may go without recording progress: one attempt's timeouts,
        the longest backoff, and a margin. Past it, the invocation is taken to have died."""
        settings = self.settings
        seconds = settings.delivery_connect_timeout_seconds + settings.delivery_read_timeout_seconds
        return timedelta(seconds=seconds + _BACKOFF_CAP_SECONDS * 1.2 + 30)

    def abandoned(self, command: CommandRecord, now: datetime) -> bool:
        """Whether the owner of ``command``'s delivery stopped making progress (crashed or timed out)."""
        if not command.delivery_attempts:
            return True
        last = command.delivery_attempts[-1]
        activity = last.started_at + timedelta(milliseconds=last.duration_ms or 0)
        return now - activity > self.lease

    def headers(self, command: CommandRecord, party: Party, request_id: str) -> dict[str, str]:
        """The POST's headers, in the command's OCPI version. The credentials token is sent as the peer
        sends its own: raw to 2.1.1 peers and to peers marked legacy, Base64 otherwise. X-Request-ID and
        X-Correlation-ID are sent to every version (harmless where not required)."""
        token = party.outbound_token or ""
        raw = self.wire.raw_token(command.ocpi_version) or party.legacy_token_encoding
        headers = {
            "Authorization": f"Token {token}" if raw else encode_token(token),
            "Content-Type": "application/json",
            Header.REQUEST_ID: request_id,
            Header.CORRELATION_ID: command.correlation_id,
        }
        if self.wire.routing_headers(command.ocpi_version):
            ours = command.cpo or self.settings.our_parties[0]
            headers[Header.FROM_COUNTRY_CODE] = ours.country_code
            headers[Header.FROM_PARTY_ID] = ours.party_id
            headers[Header.TO_COUNTRY_CODE] = command.party.country_code
            headers[Header.TO_PARTY_ID] = command.party.party_id
        return headers

    def _refusal(self, command: CommandRecord, party: Party | None) -> str | ParsedUrl:
        """Why nothing may be POSTed for ``command``, or its parsed response_url."""
        who = (command.partner or command.party).key
        if party is None:
            return f"party {who} is not registered"
        if not party.outbound_token:
            return f"no credentials token to call {who}"
        policy = POLICIES[self.settings.response_url_policy]
        try:
            return check_response_url(command.response_url, policy, party.allowed_response_url_hosts)
        except ResponseUrlRefused as exc:
            return str(exc)

    def _post(self, url: ParsedUrl, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        """One attempt: resolve, check every address, POST to the checked one (pinned)."""
        address = str(url.ip) if url.ip is not None else None
        if address is None:
            try:
                addresses = self.resolver(url.host, url.port)
            except OSError as exc:
                return HttpAnswer(None, error=f"response_url host {url.host} does not resolve ({exc}); not POSTed")
            if not addresses:
                return HttpAnswer(None, error=f"response_url host {url.host} does not resolve; not POSTed")
            try:
                address = checked_address(url, addresses, POLICIES[self.settings.response_url_policy])
            except ResponseUrlRefused as exc:
                return HttpAnswer(None, error=f"{exc}; not POSTed", retryable_error=False)
        return self.poster.post(url, address, body, headers)

    def deliver(self, command: CommandRecord, owner: str) -> DeliveryStatus:
        """Deliver ``command``'s recorded result. ``command`` is the record as returned by the winning
        transition (its first attempt already opened) or, when resuming, as last stored."""
        assert command.result is not None
        log_keys = {"command_id": command.command_id, "result": command.result.value}
        # The partner whose credentials sent the command: a hub's own token, encoding and allow-list
        # for a client it routed, with OCPI-to-* naming the client.
        party = self.party_lookup(command.partner or command.party)
        body = self.wire.body(command)
        attempts = list(command.delivery_attempts)
        if not attempts:
            raise ValueError("deliver() needs an opened attempt")
        window_end = attempts[0].started_at + timedelta(seconds=self.settings.delivery_retry_window_seconds)
        attempt = attempts[-1]
        if attempt.outcome is not None:
            # Resuming after the previous owner invocation stopped between two attempts.
            reopened = self._open_next(command, owner, attempt.number + 1)
            if reopened is None:
                return DeliveryStatus.FAILED
            attempt = reopened
        # An open attempt is either the one the winning transition just opened, or one whose invocation
        # died before recording its outcome: it is made (again) now.

        if body is None:
            # The command's OCPI version cannot say this result (2.1.1 has no CANCELED_RESERVATION).
            reason = f"OCPI {command.ocpi_version} has no {command.result.value} result: not sent"
            self._finish(command, owner, attempt, Classified("not_sent", error=reason), DeliveryStatus.NOT_SENT)
            logger.info("CommandResult not sent", extra={**log_keys, "reason": reason})
            metric("DeliveryAttempts", Outcome="not_sent")
            return DeliveryStatus.NOT_SENT

        url = self._refusal(command, party)
        if not isinstance(url, ParsedUrl):
            failed = Classified("failed", error=url)
            self._finish(command, owner, attempt, failed, DeliveryStatus.FAILED)
            logger.error("CommandResult not delivered", extra={**log_keys, "reason": url})
            metric("DeliveryFailures")
            return DeliveryStatus.FAILED

        assert party is not None
        while True:
            request_id = attempt.request_id or str(uuid.uuid4())  # each attempt has its own X-Request-ID
            attempt = attempt.model_copy(update={"request_id": request_id})
            started = time.monotonic()
            answer = self._post(url, body, self.headers(command, party, request_id))
            duration_ms = int((time.monotonic() - started) * 1000)
            verdict = classify(answer)
            attempt = attempt.model_copy(
                update={
                    "duration_ms": duration_ms,
                    "outcome": verdict.outcome,
                    "http_status": answer.status,
                    "ocpi_status_code": verdict.ocpi_status_code,
                    "error": verdict.error,
                }
            )
            metric("DeliveryAttempts", Outcome=verdict.outcome)
            logger.info(
                "CommandResult delivery attempt",
                extra={
                    **log_keys,
                    "attempt": attempt.number,
                    "outcome": verdict.outcome,
                    "http_status": answer.status,
                    "ocpi_status_code": verdict.ocpi_status_code,
                    "error": verdict.error,
                    "duration_ms": duration_ms,
                },
            )
            if verdict.outcome in ("delivered", "rejected", "failed"):
                final = DeliveryStatus.DELIVERED if verdict.outcome == "delivered" else DeliveryStatus.FAILED
                self._finish(command, owner, attempt, verdict, final)
                if final == DeliveryStatus.FAILED:
                    metric("DeliveryFailures")
                    logger.error("CommandResult not delivered", extra={**log_keys, "reason": verdict.error})
                else:
                    metric("Delivered", Result=command.result.value)
                return final
            wait = backoff_seconds(attempt.number)
            if self.clock() + timedelta(seconds=wait) >= window_end:
                self._finish(command, owner, attempt, verdict, DeliveryStatus.FAILED)
                metric("DeliveryFailures")
                logger.error(
                    "CommandResult not delivered: retry window exhausted",
                    extra={**log_keys, "attempts": attempt.number, "reason": verdict.error},
                )
                return DeliveryStatus.FAILED
            self._finish(command, owner, attempt, verdict, None)
            self.sleep(wait)
            next_attempt = self._open_next(command, owner, attempt.number + 1)
            if next_attempt is None:
                return DeliveryStatus.FAILED
            metric("DeliveryRetries")
            attempt = next_attempt

    def _open_next(self, command: CommandRecord, owner: str, number: int) -> DeliveryAttempt | None:
        attempt = DeliveryAttempt(number=number, started_at=self.clock(), request_id=str(uuid.uuid4()))
        transition = self.repository.begin_delivery_attempt(command.command_id, owner, attempt)
        if not transition.won:
            logger.warning("Delivery is no longer held by this invocation", extra={"command_id": command.command_id})
            return None
        return attempt

    def _finish(
        self,
        command: CommandRecord,
        owner: str,
        attempt: DeliveryAttempt,
        verdict: Classified,
        final: DeliveryStatus | None,
    ) -> None:
        attempt = attempt.model_copy(update={"outcome": verdict.outcome, "error": verdict.error})
        self.repository.finish_delivery_attempt(
            command.command_id, owner, attempt, final, self.clock(), error=verdict.error, request_id=attempt.request_id
        )
