"""Authentication of OCPI calls: ``Authorization: Token <base64(credentials token)>``.

* 2.2.1 peers send the token Base64-encoded (RFC 4648, standard alphabet). A party marked
  ``legacy_token_encoding`` may also send it raw (2.1.1/2.2 behaviour).
* Only the SHA-256 of a token is stored; the look-up is by hash and the stored hash is compared
  in constant time.
* A token that belongs to a hub authenticates the hub; the eMSP it acts for is named by the
  ``OCPI-from-*`` headers.
* Look-ups are cached for a short TTL (positive and negative), so a warm function does not call
  DynamoDB for credentials on every request.
"""

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import NamedTuple

from ocpi_commands.domain.errors import Unauthorized
from ocpi_commands.domain.model import CredentialsStatus, Party, PartyRef, PartyRole
from ocpi_commands.ocpi.envelope import Header
from ocpi_commands.ocpi.types import utc_now

_TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))
_MAX_HEADER_LENGTH = 1024


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def encode_token(token: str) -> str:
    """The Authorization header value for a credentials token (2.2.1 rule)."""
    return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")


class TokenCandidate(NamedTuple):
    sha256: str
    base64_encoded: bool


def token_candidates(header_value: str | None) -> list[TokenCandidate]:
    """The tokens an Authorization header may carry: the Base64-decoded one first, then the raw one."""
    if not header_value:
        raise Unauthorized("Authorization header is missing")
    if len(header_value) > _MAX_HEADER_LENGTH:
        raise Unauthorized("Authorization header is too long")
    scheme, _, value = header_value.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value or any(ch not in _TOKEN_CHARS for ch in value):
        raise Unauthorized("Authorization header must be 'Token <base64 of the credentials token>'")
    candidates: list[TokenCandidate] = []
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
        # Tolerate the trailing newline of the spec's own (erroneous) header examples.
        decoded = decoded[:-1] if decoded.endswith("\n") else decoded
        if decoded and all(ch in _TOKEN_CHARS for ch in decoded):
            candidates.append(TokenCandidate(token_sha256(decoded), True))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    candidates.append(TokenCandidate(token_sha256(value), False))
    return candidates


Lookup = Callable[[str], tuple[Party, CredentialsStatus] | None]


class CredentialsCache:
    """A small TTL cache of token-hash look-ups (thread-safe, bounded)."""

    def __init__(self, ttl_seconds: float, negative_ttl_seconds: float = 5.0, max_entries: int = 1024):
        self.ttl = ttl_seconds
        self.negative_ttl = min(negative_ttl_seconds, ttl_seconds)
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, tuple[Party, CredentialsStatus] | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str, lookup: Lookup) -> tuple[Party, CredentialsStatus] | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(sha256)
            if entry is not None and entry[0] > now:
                return entry[1]
        found = lookup(sha256)
        ttl = self.ttl if found is not None else self.negative_ttl
        if found is not None and found[1] == CredentialsStatus.CONNECTING:
            ttl = 0  # a handshake in progress: its outcome must be seen at once
        if ttl > 0:
            with self._lock:
                self._entries[sha256] = (now + ttl, found)
                self._entries.move_to_end(sha256)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Caller(NamedTuple):
    """Who is calling: the credentials owner (eMSP or hub) and the eMSP it acts for."""

    party: Party
    acting_as: PartyRef
    credentials_status: CredentialsStatus = CredentialsStatus.REGISTERED

    @property
    def via_hub(self) -> bool:
        return self.party.role == PartyRole.HUB


def authenticate(
    headers: Mapping[str, str], lookup: Lookup, cache: CredentialsCache
) -> tuple[Party, CredentialsStatus]:
    """Find the party behind the Authorization header, or raise :class:`Unauthorized`."""
    for candidate in token_candidates(headers.get(Header.AUTHORIZATION.lower())):
        found = cache.get(candidate.sha256, lookup)
        if found is None:
            continue
        party, status = found
        current = hmac.compare_digest(party.token_sha256, candidate.sha256)
        upcoming = party.next_token_sha256 is not None and hmac.compare_digest(
            party.next_token_sha256, candidate.sha256
        )
        if not (current or upcoming):
            continue
        if not candidate.base64_encoded and not party.legacy_token_encoding:
            continue  # a raw token is only accepted from parties marked legacy
        if not party.enabled:
            raise Unauthorized("These credentials are disabled")
        if status == CredentialsStatus.TOKEN_A and party.token_a_expires_at and party.token_a_expires_at <= utc_now():
            raise Unauthorized("This CREDENTIALS_TOKEN_A has expired: ask for a new one")
        return party, status
    raise Unauthorized("Unknown credentials token")


def identify_caller(
    party: Party, status: CredentialsStatus, headers: Mapping[str, str], functional_module: bool
) -> Caller:
    """Resolve the party the request is made for; reject TOKEN_A on functional modules (commands).

    A platform with several roles (an eMSP serving DE*TNM and DE*TN2) names the one in OCPI-from-*;
    without those headers it is its primary party. A hub must name a client it is registered for: a
    hub with no clients acts for no one."""
    if functional_module and status == CredentialsStatus.TOKEN_A:
        raise Unauthorized("CREDENTIALS_TOKEN_A may only be used for registration, not on the commands module")
    if functional_module and status == CredentialsStatus.CONNECTING:
        raise Unauthorized("The credentials handshake with this party is not complete")
    if not functional_module:
        return Caller(party, party.ref, status)
    country = (headers.get(Header.FROM_COUNTRY_CODE.lower()) or "").strip()
    party_id = (headers.get(Header.FROM_PARTY_ID.lower()) or "").strip()
    if party.role == PartyRole.HUB and (not country or not party_id):
        raise Unauthorized("Requests through a hub must name the eMSP in OCPI-from-country-code/party-id")
    if not country and not party_id:
        return Caller(party, party.ref, status)
    if len(country) != 2 or len(party_id) != 3 or not (country + party_id).isascii():
        raise Unauthorized("OCPI-from-country-code/party-id are not a valid party")
    acting = party.acts_for(country, party_id)
    if acting is None:
        named = f"{country.upper()}*{party_id.upper()}"
        if party.role == PartyRole.HUB:
            raise Unauthorized(f"This hub may not act for {named}: it is not registered for it")
        raise Unauthorized(f"OCPI-from-* name {named}: another party than these credentials hold")
    return Caller(party, acting, status)


def presented_token(headers: Mapping[str, str], party: Party) -> str:
    """The credentials token the request carried, as the party sent it (decoded when Base64)."""
    header = headers.get(Header.AUTHORIZATION.lower()) or ""
    value = header.strip().partition(" ")[2].strip()
    for candidate in token_candidates(header):
        if hmac.compare_digest(candidate.sha256, party.token_sha256):
            if candidate.base64_encoded:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
                return decoded[:-1] if decoded.endswith("\n") else decoded
            return value
    return value
