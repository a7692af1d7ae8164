"""The Credentials module: registering partners, rotating tokens, unregistering, and connecting to them.

Both parts of the handshake (digest 6.13, 14):
* receiver (the partner starts): ``party invite`` makes a CREDENTIALS_TOKEN_A; the partner POSTs its
  Credentials with it; we fetch its versions and the details of the version it called, with the token
  it gave us, store its endpoints, and answer ours with a new token. PUT rotates, DELETE unregisters.
* initiator (we start, ``party connect``): we fetch its versions with its TOKEN_A, pick the highest
  common version, register a token for it *before* POSTing (it calls our versions with it during the
  POST), POST our Credentials and keep the token it answers with.

A failed handshake leaves everything as it was: the partner's TOKEN_A stays valid, nothing is half
stored. Tokens are random (256 bits), stored as SHA-256 hashes only, and never logged.
"""

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from ocpi_commands.domain.auth import encode_token, token_sha256
from ocpi_commands.domain.errors import OcpiError
from ocpi_commands.domain.model import (
    CredentialsRole,
    CredentialsStatus,
    Endpoint,
    Party,
    PartyRef,
    PartyRole,
)
from ocpi_commands.observability import logger, metric
from ocpi_commands.ocpi.envelope import StatusCode
from ocpi_commands.ocpi.types import utc_now


class PartnerCredentials(NamedTuple):
    """A Credentials object, in any version: the token, the versions URL, the roles (2.1.1: one)."""

    token: str
    url: str
    roles: tuple[CredentialsRole, ...]
    hub_party_id: str | None = None


class OcpiReply(NamedTuple):
    """An OCPI answer to one of our requests (``status_code``/``data`` from its envelope)."""

    http_status: int | None
    status_code: int | None = None
    data: Any = None
    status_message: str | None = None
    error: str | None = None  # transport error, or an answer that is not an OCPI envelope

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300 and self.status_code == 1000

    def describe(self) -> str:
        if self.error:
            return self.error
        return f"HTTP {self.http_status}, status_code {self.status_code} {self.status_message or ''}".strip()


class OcpiClient(Protocol):
    """OCPI requests to a partner, through the outbound guard (https and public addresses outside the
    local policy, pinned to the addresses checked), with connect and read timeouts."""

    def call(
        self, method: str, url: str, authorization: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> OcpiReply: ...


class CredentialsWire(Protocol):
    """How each OCPI version writes Versions and Credentials objects (``ocpi/`` implements it)."""

    supported_versions: Sequence[str]

    def raw_token(self, version: str) -> bool: ...

    def parse_versions(self, data: Any) -> list[tuple[str, str]]: ...

    def parse_endpoints(self, version: str, data: Any) -> list[Endpoint]: ...

    def parse_credentials(self, version: str, data: Any) -> PartnerCredentials: ...

    def credentials_body(self, version: str, token: str, url: str, roles: Sequence[CredentialsRole]) -> Any: ...


class CredentialsStore(Protocol):
    def get_party(self, ref: PartyRef) -> Party | None: ...

    def get_party_by_token_sha256(self, token_sha256: str) -> tuple[Party, CredentialsStatus] | None: ...

    def register_party(self, party: Party, replaces: Party) -> bool:
        """Store ``party`` in place of ``replaces`` (its token and key may change), atomically and only
        if ``replaces`` is still as read. False when it changed meanwhile (a concurrent handshake)."""
        ...

    def put_party(self, party: Party, previous_token_sha256: str | None = None) -> None: ...

    def delete_party(self, party: Party) -> None: ...


class HandshakeFailed(OcpiError):
    """The partner's versions or details could not be used: 3001, 3002 or 3003 (HTTP 200)."""

    http_status = 200

    def __init__(self, status_code: StatusCode, message: str):
        super().__init__(message)
        self.status_code = int(status_code)


class WrongRegistrationState(OcpiError):
    """POST when registered, PUT or DELETE when not (HTTP 405, as the Credentials module says)."""

    http_status = 405
    status_code = 2000


def new_token() -> str:
    """A credentials token: 256 random bits, URL-safe (printable ASCII, at most 64 characters)."""
    return secrets.token_urlsafe(32)


class OurSide(NamedTuple):
    """What we tell partners about ourselves: the versions we offer, our versions URL, our roles."""

    versions: Sequence[str]
    versions_url: str
    roles: tuple[CredentialsRole, ...]


class CredentialsService:
    def __init__(
        self,
        store: CredentialsStore,
        client: OcpiClient,
        wire: CredentialsWire,
        required_endpoints: Callable[[tuple[CredentialsRole, ...], str], list[tuple[str, str | None]]],
        clock: Callable[[], datetime] = utc_now,
        token_factory: Callable[[], str] = new_token,
    ):
        self.store = store
        self.client = client
        self.wire = wire
        self.required_endpoints = required_endpoints
        self.clock = clock
        self.token_factory = token_factory

    # ------------------------------------------------------------------ helpers

    def _authorization(self, token: str, version: str) -> str:
        return f"Token {token}" if self.wire.raw_token(version) else encode_token(token)

    def _versions(self, url: str, token: str, version_hint: str | None) -> list[tuple[str, str]]:
        """The partner's versions list, read with ``token`` (3001 when it cannot be read)."""
        attempts = [version_hint] if version_hint else ["2.2.1", "2.1.1"]  # Base64 first, then raw
        reply = None
        for version in attempts:
            reply = self.client.call("GET", url, self._authorization(token, version))
            if reply.ok:
                try:
                    return self.wire.parse_versions(reply.data)
                except ValueError as exc:
                    raise HandshakeFailed(
                        StatusCode.UNABLE_TO_USE_CLIENT_API, f"Invalid versions at {url}: {exc}"
                    ) from None
        assert reply is not None
        raise HandshakeFailed(
            StatusCode.UNABLE_TO_USE_CLIENT_API, f"Versions at {url} could not be read: {reply.describe()}"
        )

    def _endpoints(self, url: str, token: str, version: str) -> list[Endpoint]:
        reply = self.client.call("GET", url, self._authorization(token, version))
        if not reply.ok:
            raise HandshakeFailed(
                StatusCode.UNABLE_TO_USE_CLIENT_API, f"Version details at {url} could not be read: {reply.describe()}"
            )
        try:
            return self.wire.parse_endpoints(version, reply.data)
        except ValueError as exc:
            raise HandshakeFailed(
                StatusCode.UNABLE_TO_USE_CLIENT_API, f"Invalid version details at {url}: {exc}"
            ) from None

    def _check_endpoints(self, roles: tuple[CredentialsRole, ...], version: str, endpoints: list[Endpoint]) -> None:
        for identifier, role in self.required_endpoints(roles, version):
            if not any(e.identifier == identifier and (role is None or e.role in (None, role)) for e in endpoints):
                wanted = f"{identifier} ({role})" if role else identifier
                raise HandshakeFailed(
                    StatusCode.NO_MATCHING_ENDPOINTS, f"The partner's {version} details lack {wanted}"
                )

    def _fetch(self, theirs: PartnerCredentials, version: str) -> list[Endpoint]:
        """Versions, then the details of ``version``, with the token the partner gave us."""
        listed = self._versions(theirs.url, theirs.token, version)
        urls = dict(listed)
        if version not in urls:
            offered = ", ".join(v for v, _ in listed) or "none"
            raise HandshakeFailed(
                StatusCode.UNSUPPORTED_VERSION, f"The partner does not offer {version} (it offers {offered})"
            )
        endpoints = self._endpoints(urls[version], theirs.token, version)
        self._check_endpoints(theirs.roles, version, endpoints)
        return endpoints

    @staticmethod
    def _primary(roles: tuple[CredentialsRole, ...], fallback: PartyRef) -> tuple[PartyRef, PartyRole, tuple[str, ...]]:
        """The party a platform is known by, its role with us, and (for a hub) its clients."""
        hubs = [r for r in roles if r.role == PartyRole.HUB.value]
        if hubs:
            clients = tuple(r.ref.key for r in roles if r.role != PartyRole.HUB.value)
            return hubs[0].ref, PartyRole.HUB, clients
        for wanted in (PartyRole.EMSP, PartyRole.CPO):
            found = [r for r in roles if r.role == wanted.value]
            if found:
                return found[0].ref, wanted, ()
        return (roles[0].ref if roles else fallback), PartyRole.OTHER, ()

    def _with(
        self, party: Party, theirs: PartnerCredentials, version: str, endpoints: list[Endpoint], rekey: bool = False
    ) -> Party:
        """``party`` as the partner's Credentials describe it. Its key stays the party it was invited
        (or registered) as, which must be one of the roles it names; a connection we start is keyed
        by the partner's primary role."""
        ref, role, clients = self._primary(theirs.roles, party.ref)
        if theirs.hub_party_id:  # 2.3.0: a hub names itself; every role is a party it reaches
            country, party_id = theirs.hub_party_id[:2], theirs.hub_party_id[2:]
            ref, role = PartyRef(country_code=country.upper(), party_id=party_id.upper()), PartyRole.HUB
            clients = tuple(r.ref.key for r in theirs.roles if not r.ref.same_as(country, party_id))
        named = {r.ref.key for r in theirs.roles} | {ref.key}
        if not rekey and party.ref.key not in named:
            raise HandshakeFailed(
                StatusCode.INVALID_PARAMETERS,
                f"These credentials are for {party.ref.key}; the roles sent name {', '.join(sorted(named))}",
            )
        return party.model_copy(
            update={
                "ref": ref if rekey else party.ref,
                "role": role,
                "hub_clients": tuple(c.upper() for c in clients),
                "roles": theirs.roles,
                "outbound_token": theirs.token,
                "legacy_token_encoding": party.legacy_token_encoding or self.wire.raw_token(version),
                "ocpi_version": version,
                "versions_url": theirs.url,
                "endpoints": tuple(endpoints),
                "endpoints_fetched_at": self.clock(),
            }
        )

    # ------------------------------------------------------------------ receiver side

    def register(self, party: Party, status: CredentialsStatus, version: str, theirs: PartnerCredentials) -> str:
        """POST: the invited partner registers with its TOKEN_A. Returns the token it will call us with."""
        if status != CredentialsStatus.TOKEN_A:
            raise WrongRegistrationState("These credentials have already been registered: use PUT to update them")
        endpoints = self._fetch(theirs, version)
        token = self.token_factory()
        registered = self._with(party, theirs, version, endpoints).model_copy(
            update={
                "token_sha256": token_sha256(token),
                "credentials_status": CredentialsStatus.REGISTERED,
                "token_a_expires_at": None,
                "registered_at": self.clock(),
                "enabled": True,
            }
        )
        if not self.store.register_party(registered, replaces=party):
            raise HandshakeFailed(StatusCode.SERVER_ERROR, "A concurrent registration of these credentials won")
        metric("PartnersRegistered", OcpiVersion=version)
        logger.info("Partner registered", extra={"party": registered.ref.key, "ocpi_version": version})
        return token

    def update(self, party: Party, status: CredentialsStatus, version: str, theirs: PartnerCredentials) -> str:
        """PUT: new token, version or endpoints; the partner's previous token stops working."""
        if status != CredentialsStatus.REGISTERED or party.credentials_status != CredentialsStatus.REGISTERED:
            raise WrongRegistrationState("These credentials have not been registered yet: use POST")
        endpoints = self._fetch(theirs, version)
        token = self.token_factory()
        updated = self._with(party, theirs, version, endpoints).model_copy(update={"token_sha256": token_sha256(token)})
        if not self.store.register_party(updated, replaces=party):
            raise HandshakeFailed(StatusCode.SERVER_ERROR, "A concurrent update of these credentials won")
        logger.info("Partner credentials updated", extra={"party": updated.ref.key, "ocpi_version": version})
        return token

    def unregister(self, party: Party, status: CredentialsStatus) -> None:
        """DELETE: the partner's credentials stop working; nothing more is sent to it."""
        if status != CredentialsStatus.REGISTERED:
            raise WrongRegistrationState("These credentials have not been registered")
        self.store.delete_party(party)
        metric("PartnersUnregistered")
        logger.info("Partner unregistered", extra={"party": party.ref.key})

    # ------------------------------------------------------------------ initiator side

    def connect(self, versions_url: str, token_a: str, ours: OurSide) -> Party:
        """We register with a partner that gave us a TOKEN_A and its versions URL."""
        listed = self._versions(versions_url, token_a, None)
        common = sorted(
            (v for v, _ in listed if v in ours.versions and v in self.wire.supported_versions),
            key=lambda v: tuple(int(p) for p in v.split(".")),
        )
        if not common:
            offered = ", ".join(v for v, _ in listed) or "none"
            raise HandshakeFailed(
                StatusCode.UNSUPPORTED_VERSION, f"No common OCPI version (the partner offers {offered})"
            )
        version = common[-1]
        endpoints = self._endpoints(dict(listed)[version], token_a, version)
        credentials = next((e for e in endpoints if e.identifier == "credentials"), None)
        if credentials is None:
            raise HandshakeFailed(StatusCode.NO_MATCHING_ENDPOINTS, f"The partner's {version} details lack credentials")
        token = self.token_factory()
        # Registered before the POST: the partner calls our versions with it while the POST is open.
        provisional = Party(
            ref=PartyRef(country_code="--", party_id=secrets.token_hex(2)[:3].upper()),
            name="(connecting)",
            credentials_status=CredentialsStatus.CONNECTING,
            token_sha256=token_sha256(token),
            ocpi_version=version,
            legacy_token_encoding=self.wire.raw_token(version),  # a 2.1.1 partner calls back with it raw
        )
        self.store.put_party(provisional)
        try:
            reply = self.client.call(
                "POST",
                credentials.url,
                self._authorization(token_a, version),
                self.wire.credentials_body(version, token, ours.versions_url, ours.roles),
            )
            if not reply.ok:
                raise HandshakeFailed(
                    StatusCode.UNABLE_TO_USE_CLIENT_API, f"The partner refused our credentials: {reply.describe()}"
                )
            try:
                theirs = self.wire.parse_credentials(version, reply.data)
            except ValueError as exc:
                raise HandshakeFailed(
                    StatusCode.UNABLE_TO_USE_CLIENT_API, f"Invalid credentials answer: {exc}"
                ) from None
            theirs = theirs._replace(url=theirs.url or versions_url)
            connected = self._with(provisional, theirs, version, endpoints, rekey=True).model_copy(
                update={"credentials_status": CredentialsStatus.REGISTERED, "registered_at": self.clock(), "name": None}
            )
            if connected.ref.country_code == "--":
                raise HandshakeFailed(StatusCode.UNABLE_TO_USE_CLIENT_API, "The partner's credentials name no party")
            existing = self.store.get_party(connected.ref)
            if existing is not None and existing.credentials_status == CredentialsStatus.REGISTERED:
                raise HandshakeFailed(
                    StatusCode.CLIENT_ERROR, f"{connected.ref.key} is registered already: use party update"
                )
            connected = connected.model_copy(update={"name": theirs.roles[0].name if theirs.roles else None})
            if not self.store.register_party(connected, replaces=provisional):
                raise HandshakeFailed(StatusCode.SERVER_ERROR, "The connection changed while it was being made")
        except BaseException:
            self.store.delete_party(provisional)
            raise
        logger.info("Connected to a partner", extra={"party": connected.ref.key, "ocpi_version": version})
        return connected

    def reconnect(self, party: Party, ours: OurSide) -> Party:
        """We update our credentials with a partner (PUT): a new token each way."""
        if (
            party.credentials_status != CredentialsStatus.REGISTERED
            or not party.outbound_token
            or not party.versions_url
        ):
            raise HandshakeFailed(StatusCode.CLIENT_ERROR, f"{party.ref.key} is not connected: use party connect")
        current = party.outbound_token
        listed = self._versions(party.versions_url, current, party.ocpi_version)
        common = sorted(
            (v for v, _ in listed if v in ours.versions and v in self.wire.supported_versions),
            key=lambda v: tuple(int(p) for p in v.split(".")),
        )
        if not common:
            raise HandshakeFailed(StatusCode.UNSUPPORTED_VERSION, "No common OCPI version any more")
        version = common[-1]
        endpoints = self._endpoints(dict(listed)[version], current, version)
        credentials = next((e for e in endpoints if e.identifier == "credentials"), None)
        if credentials is None:
            raise HandshakeFailed(StatusCode.NO_MATCHING_ENDPOINTS, f"The partner's {version} details lack credentials")
        token = self.token_factory()
        # Both tokens work while the PUT is open (the partner may call back with the new one).
        self.store.put_party(party.model_copy(update={"next_token_sha256": token_sha256(token)}))
        reply = self.client.call(
            "PUT",
            credentials.url,
            self._authorization(current, version),
            self.wire.credentials_body(version, token, ours.versions_url, ours.roles),
        )
        if not reply.ok:
            self.store.put_party(party)
            raise HandshakeFailed(
                StatusCode.UNABLE_TO_USE_CLIENT_API, f"The partner refused our update: {reply.describe()}"
            )
        try:
            theirs = self.wire.parse_credentials(version, reply.data)
        except ValueError as exc:
            self.store.put_party(party)
            raise HandshakeFailed(StatusCode.UNABLE_TO_USE_CLIENT_API, f"Invalid credentials answer: {exc}") from None
        updated = self._with(party, theirs._replace(url=theirs.url or party.versions_url), version, endpoints)
        updated = updated.model_copy(update={"token_sha256": token_sha256(token), "next_token_sha256": None})
        self.store.put_party(updated, previous_token_sha256=party.token_sha256)
        return updated


def token_a_expiry(now: datetime, days: float) -> datetime:
    return now + timedelta(days=days)
