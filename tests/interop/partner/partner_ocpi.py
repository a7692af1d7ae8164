"""Our bindings for extrawest-ocpi (``py_ocpi``): an in-memory Crud, an
Authenticator, an admin/introspection API and the app factory.

IMPORTANT: py_ocpi reads its settings (OCPI_HOST, PROTOCOL, COMMAND_AWAIT_TIME,
...) from the environment *when it is first imported* and bakes the advertised
URLs into module-level objects at that moment.  Import this module only after
``partner_app.configure_environment()`` has run (partner_app does that).

Nothing in here is extrawest code: it is the code a py_ocpi user must write.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
import os
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Body, FastAPI, HTTPException

if "OCPI_HOST" not in os.environ:  # pragma: no cover - guard against misuse
    raise RuntimeError(
        "partner_ocpi imported before the environment was configured; call partner_app.configure_environment() first"
    )

import py_ocpi  # noqa: E402
from py_ocpi.core.authentication.authenticator import Authenticator  # noqa: E402
from py_ocpi.core.crud import Crud  # noqa: E402
from py_ocpi.core.endpoints import ENDPOINTS  # noqa: E402
from py_ocpi.core.endpoints.v_2_1_1.utils import (  # noqa: E402
    cpo_generator as cpo_generator_211,
)
from py_ocpi.core.endpoints.v_2_2_1.utils import (  # noqa: E402
    cpo_generator as cpo_generator_221,
)
from py_ocpi.core.enums import Action, ModuleID, RoleEnum  # noqa: E402
from py_ocpi.modules.versions.enums import VersionNumber  # noqa: E402
from py_ocpi.modules.versions.v_2_2_1.schemas import InterfaceRole  # noqa: E402


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


def new_token(kind: str) -> str:
    """A fresh token.

    The ``////`` prefix is deliberate: extrawest's ``GET /ocpi/versions`` does
    not know the caller's version, so it *tries* to Base64-decode whatever
    token it gets and falls back to the raw token only when the decoded bytes
    are not UTF-8.  ``////`` decodes to 0xFF 0xFF 0xFF (never UTF-8) and the
    total length is a multiple of 4, so a raw (2.1.1-style) token always falls
    back cleanly instead of hitting extrawest's "Incorrect padding" crash
    (HTTP 200 + status_code 3000).  See the report, "quirks".
    """
    body = f"{kind}{secrets.token_hex(14)}"  # kind is 'a' or 'c' -> 29 chars
    token = "////" + body
    return token + "x" * (-len(token) % 4)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# ----------------------------------------------------------------------------
# State: everything the partner knows, in memory, mirrored to a JSON file.
# ----------------------------------------------------------------------------


class PartnerState:
    """In-memory state of one partner process.

    Mirrored (atomically) to ``state_file`` after every change so that a test
    can read it without HTTP; the same document is served at
    ``GET /_admin/state``.
    """

    DEFAULT_CONFIG = {
        # CPO: what crud.do(send_command) answers (the synchronous CommandResponse)
        "command_response": "ACCEPTED",
        "command_timeout": 30,
        # CPO: if set (e.g. "ACCEPTED"), every accepted command gets this
        # CommandResult at once, so extrawest POSTs it to response_url
        # immediately; if None, a test sets it with POST /_admin/commands/{id}/result
        "auto_result": None,
        # CPO: None = every location_id exists; a list = only these (case-insensitive)
        "known_locations": None,
        # Spec: a CREDENTIALS_TOKEN_A is single-use.  False keeps it valid.
        "consume_token_a": True,
    }

    def __init__(
        self, role: str, versions: list[str], base_url: str, country_code: str, party_id: str, state_file: str | None
    ):
        self.lock = threading.RLock()
        self.state_file = state_file
        self.identity = {
            "role": role,
            "versions": versions,
            "base_url": base_url,
            "versions_url": f"{base_url}/ocpi/versions",
            "country_code": country_code,
            "party_id": party_id,
            "extrawest_version": py_ocpi.__version__,
            "pid": os.getpid(),
        }
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.config = copy.deepcopy(self.DEFAULT_CONFIG)
            self.tokens_a: dict[str, dict] = {}
            self.peers: dict[str, dict] = {}  # key: token C we issued
            self.removed_peers: list[dict] = []  # after DELETE /credentials
            self.commands: list[dict] = []  # CPO: commands received
            self.command_results: list[dict] = []  # eMSP: results received
            self.inbound: list[dict] = []  # raw HTTP requests to /ocpi/*
            self.outbound: list[dict] = []  # HTTP requests extrawest made
            self._seq = 0
            self.save()

    def next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}-{self._seq}"

    def snapshot(self) -> dict:
        with self.lock:
            return json.loads(
                json.dumps(
                    {
                        "identity": self.identity,
                        "config": self.config,
                        "tokens_a": self.tokens_a,
                        "peers": list(self.peers.values()),
                        "removed_peers": self.removed_peers,
                        "commands": self.commands,
                        "command_results": self.command_results,
                        "inbound": self.inbound,
                        "outbound": self.outbound,
                    },
                    default=str,
                )
            )

    def save(self) -> None:
        if not self.state_file:
            return
        with self.lock:
            tmp = f"{self.state_file}.tmp"
            with open(tmp, "w") as fh:
                json.dump(self.snapshot(), fh, indent=2)
            os.replace(tmp, self.state_file)

    # -- credentials ----------------------------------------------------------

    def our_credentials(self, version: str, token_c: str) -> dict:
        """The Credentials object this partner presents (token C + our URL)."""
        ident = self.identity
        business = {"name": f"extrawest-ocpi partner ({ident['role']})"}
        if version.startswith("2.1"):
            return {
                "token": token_c,
                "url": ident["versions_url"],
                "business_details": business,
                "party_id": ident["party_id"],
                "country_code": ident["country_code"],
            }
        return {
            "token": token_c,
            "url": ident["versions_url"],
            "roles": [
                {
                    "role": ident["role"],
                    "business_details": business,
                    "party_id": ident["party_id"],
                    "country_code": ident["country_code"],
                }
            ],
        }

    def peer_for(self, token_c: str | None) -> dict | None:
        return self.peers.get(token_c) if token_c else None


STATE: PartnerState | None = None  # set by create_app()


def state() -> PartnerState:
    assert STATE is not None, "create_app() has not run"
    return STATE


# ----------------------------------------------------------------------------
# Authenticator: py_ocpi calls these classmethods (it passes the class itself).
# py_ocpi has already Base64-decoded 2.2.1 tokens before calling us.
# ----------------------------------------------------------------------------


class PartnerAuthenticator(Authenticator):
    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        with state().lock:
            return [t for t, rec in state().tokens_a.items() if not rec["used_by"]]

    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        with state().lock:
            return list(state().peers)


# ----------------------------------------------------------------------------
# Crud: py_ocpi's only way to reach "business logic".  Classmethods, since
# py_ocpi is given the class.  Signatures are py_ocpi's (core/crud.py).
# ----------------------------------------------------------------------------


def _v(version: Any) -> str:
    return getattr(version, "value", str(version))


class PartnerCrud(Crud):
    @classmethod
    async def get(cls, module, role, id, *args, **kwargs):
        st = state()
        version = _v(kwargs.get("version"))
        with st.lock:
            if module == ModuleID.credentials_and_registration:
                # GET/DELETE /credentials: id is the (decoded) token C of the caller
                peer = st.peer_for(id)
                return st.our_credentials(version, peer["token_c"]) if peer else None

            if module == ModuleID.locations:
                # py_ocpi CPO commands check that command.location_id exists
                known = st.config["known_locations"]
                if known is None or str(id).lower() in {k.lower() for k in known}:
                    return {"id": id}
                return None

            if module == ModuleID.commands and role == RoleEnum.cpo:
                # Polled by py_ocpi's send_command_result() every 2 s with id=0
                # and command_data=<validated command>.  Returning a truthy dict
                # makes extrawest POST it (as CommandResult / CommandResponse)
                # to command_data.response_url.
                data = kwargs["command_data"]
                command = _v(kwargs.get("command"))
                for rec in reversed(st.commands):
                    if (
                        rec["response_url"] == data.response_url
                        and rec["command"] == command
                        and rec["version"] == version
                        and rec["status"] == "awaiting_result"
                    ):
                        if rec["result"] is None:
                            rec["last_polled_at"] = now()
                            return None
                        rec["status"] = "result_handed_to_extrawest"
                        rec["result_handed_at"] = now()
                        st.save()
                        return copy.deepcopy(rec["result"])
                return None
        return None

    @classmethod
    async def list(cls, module, role, filters, *args, **kwargs):
        return [], 0, True

    @classmethod
    async def create(cls, module, role, data, *args, **kwargs):
        st = state()
        version = _v(kwargs.get("version"))
        if module != ModuleID.credentials_and_registration:
            return data
        # POST /credentials with token A, after extrawest fetched the peer's
        # versions + version details with token B.
        # data = {"credentials": <peer's Credentials>, "endpoints": <VersionDetail data>}
        token_a = kwargs.get("auth_token")
        with st.lock:
            token_c = new_token("c")
            creds = data["credentials"]
            peer = {
                "id": st.next_id("peer"),
                "version": version,
                "token_c": token_c,
                "token_b": creds["token"],
                "versions_url": creds["url"],
                "credentials": creds,
                "version_details": data["endpoints"],
                "registered_with_token_a": token_a,
                "registered_at": now(),
                "updated_at": None,
                "history": [],
            }
            st.peers[token_c] = peer
            if token_a in st.tokens_a:
                if st.config["consume_token_a"]:
                    st.tokens_a[token_a]["used_by"] = peer["id"]
                st.tokens_a[token_a].setdefault("registrations", []).append(peer["id"])
            st.save()
            return st.our_credentials(version, token_c)

    @classmethod
    async def update(cls, module, role, data, id, *args, **kwargs):
        st = state()
        version = _v(kwargs.get("version"))
        auth_token = kwargs.get("auth_token")
        with st.lock:
            if module == ModuleID.credentials_and_registration:
                # PUT /credentials with the current token C: new token B / URL,
                # and we rotate token C (spec: respond with new credentials).
                peer = st.peers.pop(auth_token)
                peer["history"].append(
                    {k: peer[k] for k in ("version", "token_c", "token_b", "versions_url", "updated_at")}
                )
                creds = data["credentials"]
                peer.update(
                    {
                        "version": version,
                        "token_c": new_token("c"),
                        "token_b": creds["token"],
                        "versions_url": creds["url"],
                        "credentials": creds,
                        "version_details": data["endpoints"],
                        "updated_at": now(),
                    }
                )
                st.peers[peer["token_c"]] = peer
                st.save()
                return st.our_credentials(version, peer["token_c"])

            if module == ModuleID.commands and role == RoleEnum.emsp:
                # POST /ocpi/emsp/{v}/commands/{uid}: a CPO delivers a
                # CommandResult (2.2.1) / CommandResponse (2.1.1).
                peer = st.peer_for(auth_token)
                st.command_results.append(
                    {
                        "id": st.next_id("result"),
                        "uid": id,
                        "version": version,
                        "body": data,
                        "auth_token": auth_token,
                        "peer_id": peer["id"] if peer else None,
                        "received_at": now(),
                    }
                )
                st.save()
                return data
        return data

    @classmethod
    async def delete(cls, module, role, id, *args, **kwargs):
        st = state()
        with st.lock:
            if module == ModuleID.credentials_and_registration:
                peer = st.peers.pop(id, None)
                if peer:
                    peer["deleted_at"] = now()
                    st.removed_peers.append(peer)
                    st.save()

    @classmethod
    async def do(cls, module, role, action, *args, data=None, **kwargs):
        st = state()
        version = _v(kwargs.get("version"))
        auth_token = kwargs.get("auth_token")
        with st.lock:
            if module == ModuleID.commands and action == Action.send_command:
                # POST /ocpi/cpo/{v}/commands/{COMMAND}; args[0] = validated body
                body = args[0] if args else data
                cfg = st.config
                rec = {
                    "id": st.next_id("cmd"),
                    "command": _v(kwargs.get("command")),
                    "version": version,
                    "body": body,
                    "response_url": body["response_url"],
                    "auth_token": auth_token,
                    "peer_id": (st.peer_for(auth_token) or {}).get("id"),
                    "received_at": now(),
                    "response": cfg["command_response"],
                    "status": ("awaiting_result" if cfg["command_response"] == "ACCEPTED" else "not_accepted"),
                    "result": None,
                }
                if rec["status"] == "awaiting_result" and cfg["auto_result"]:
                    rec["result"] = {"result": cfg["auto_result"]}
                st.commands.append(rec)
                st.save()
                # 2.2.1 CommandResponse needs "timeout"; 2.1.1's model ignores it
                return {"result": cfg["command_response"], "timeout": cfg["command_timeout"]}

            if module == ModuleID.commands and action == Action.get_client_token:
                # The token extrawest puts in "Authorization: Token ..." when it
                # POSTs the result to response_url: the caller's token B.
                peer = st.peer_for(auth_token)
                return peer["token_b"] if peer else ""
        return None


# ----------------------------------------------------------------------------
# Recording of the HTTP calls extrawest makes (callbacks, CommandResults).
# py_ocpi calls ``httpx.AsyncClient()`` at run time, so replacing the module
# attribute is enough.  It also refuses every non-loopback destination.
# ----------------------------------------------------------------------------


_RealAsyncClient = httpx.AsyncClient


class RecordingAsyncClient(_RealAsyncClient):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("trust_env", False)  # never via a proxy
        kwargs.setdefault("timeout", 10.0)
        hooks = kwargs.pop("event_hooks", None) or {}
        hooks.setdefault("request", []).append(self._on_request)
        hooks.setdefault("response", []).append(self._on_response)
        super().__init__(*args, event_hooks=hooks, **kwargs)

    @staticmethod
    async def _on_request(request: httpx.Request) -> None:
        st = state()
        entry = {
            "id": None,
            "at": now(),
            "method": request.method,
            "url": str(request.url),
            "headers": dict(request.headers),
            "body": _json_or_text(request.content),
            "status": None,
            "response": None,
        }
        with st.lock:
            entry["id"] = st.next_id("out")
            st.outbound.append(entry)
            request.extensions["partner_entry"] = entry
            if not is_loopback_host(request.url.host):
                entry["status"] = "refused: not a loopback address"
                st.save()
                raise httpx.ConnectError(
                    f"partner harness refuses non-loopback URL {request.url}",
                    request=request,
                )
            st.save()

    @staticmethod
    async def _on_response(response: httpx.Response) -> None:
        await response.aread()
        entry = response.request.extensions.get("partner_entry")
        if entry is not None:
            with state().lock:
                entry["status"] = response.status_code
                entry["response"] = _json_or_text(response.content)
                state().save()


def _json_or_text(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


# ----------------------------------------------------------------------------
# Raw inbound recording (pure ASGI, so it does not disturb extrawest's own
# BaseHTTPMiddleware or background tasks).
# ----------------------------------------------------------------------------


class InboundRecorder:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/ocpi"):
            return await self.app(scope, receive, send)
        st = state()
        chunks: list[bytes] = []
        resp_chunks: list[bytes] = []
        entry = {
            "at": now(),
            "method": scope["method"],
            "path": scope["path"],
            "query": scope.get("query_string", b"").decode(),
            "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
            "body": None,
            "status": None,
            "response": None,
        }
        with st.lock:
            st.inbound.append(entry)

        async def recv():
            msg = await receive()
            if msg["type"] == "http.request":
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body"):
                    entry["body"] = _json_or_text(b"".join(chunks))
            return msg

        # extrawest's CPO commands handler starts a background task (the
        # CommandResult poller) and, because of starlette 0.27's
        # BaseHTTPMiddleware, uvicorn only finishes the HTTP cycle when that
        # task ends (up to 60*COMMAND_AWAIT_TIME s).  The body arrives at once,
        # but a client that reuses the keep-alive connection hangs.  We ask
        # clients not to reuse it.
        close_after = "/commands/" in scope["path"] and scope["path"].startswith("/ocpi/cpo/")

        async def snd(msg):
            if msg["type"] == "http.response.start":
                if close_after:
                    msg = {**msg, "headers": [*msg.get("headers", []), (b"connection", b"close")]}
                entry["status"] = msg["status"]
                entry["response_headers"] = {k.decode(): v.decode() for k, v in msg.get("headers", [])}
            elif msg["type"] == "http.response.body":
                resp_chunks.append(msg.get("body", b""))
                if not msg.get("more_body"):
                    entry["response"] = _json_or_text(b"".join(resp_chunks))
                    with st.lock:
                        st.save()
            await send(msg)

        await self.app(scope, recv, snd)


# ----------------------------------------------------------------------------
# Admin / introspection API: /_admin/*, no authentication (loopback only).
# ----------------------------------------------------------------------------


def admin_router() -> APIRouter:
    r = APIRouter(prefix="/_admin", tags=["partner admin"])

    @r.get("/state")
    async def get_state():
        return state().snapshot()

    @r.post("/reset")
    async def reset():
        state().reset()
        return {"ok": True}

    @r.put("/config")
    async def put_config(changes: dict = Body(...)):
        st = state()
        unknown = set(changes) - set(st.config)
        if unknown:
            raise HTTPException(400, f"unknown config keys: {sorted(unknown)}")
        with st.lock:
            st.config.update(changes)
            st.save()
            return st.config

    @r.post("/token-a")
    async def create_token_a(body: dict | None = Body(None)):
        """Create a CREDENTIALS_TOKEN_A; optional body {"token": "..."}."""
        st = state()
        token = (body or {}).get("token") or new_token("a")
        with st.lock:
            st.tokens_a[token] = {"created_at": now(), "used_by": None}
            st.save()
        return {
            "token": token,
            "versions_url": st.identity["versions_url"],
            "authorization": {"2.2.1": f"Token {b64(token)}", "2.1.1": f"Token {token}"},
        }

    @r.post("/peers")
    async def register_peer(body: dict = Body(...)):
        """Register a peer without the credentials handshake.

        Body: {"token_b": str, "versions_url": str, "version": "2.2.1",
        "token_c": optional str}.  Returns the token C the peer must use.
        """
        st = state()
        token_c = body.get("token_c") or new_token("c")
        with st.lock:
            peer = {
                "id": st.next_id("peer"),
                "version": body.get("version", "2.2.1"),
                "token_c": token_c,
                "token_b": body["token_b"],
                "versions_url": body.get("versions_url"),
                "credentials": None,
                "version_details": None,
                "registered_with_token_a": None,
                "registered_at": now(),
                "updated_at": None,
                "history": [],
            }
            st.peers[token_c] = peer
            st.save()
        return {"peer": peer, "authorization": {"2.2.1": f"Token {b64(token_c)}", "2.1.1": f"Token {token_c}"}}

    @r.post("/commands/{command_id}/result")
    async def set_command_result(command_id: str, body: dict = Body(...)):
        """CPO only: give a received command its result.

        extrawest's own poller (every 2 s) picks it up and POSTs it to the
        command's response_url with "Authorization: Token <token B>"
        (Base64 for 2.2.1, raw for 2.1.1).  Body: {"result": "ACCEPTED",
        "message": [{"language": "en", "text": "..."}]} (2.1.1: only "result",
        from the 2.1.1 CommandResponseType enum).
        """
        st = state()
        with st.lock:
            rec = next((c for c in st.commands if c["id"] == command_id), None)
            if rec is None:
                raise HTTPException(404, f"no command {command_id}")
            if rec["status"] != "awaiting_result":
                raise HTTPException(409, f"command {command_id} is {rec['status']}")
            rec["result"] = body
            rec["result_set_at"] = now()
            st.save()
            return rec

    return r


# ----------------------------------------------------------------------------
# App factory
# ----------------------------------------------------------------------------


def advertise_cpo_commands_endpoint() -> None:
    """Work around an extrawest omission: its CPO version details never list
    the commands endpoint (ENDPOINTS[...][CPO] has no ModuleID.commands,
    although the router is mounted).  An eMSP that discovers endpoints would
    never find it.  We add it, role RECEIVER for 2.2.1."""
    ENDPOINTS[VersionNumber.v_2_2_1][RoleEnum.cpo].setdefault(
        ModuleID.commands,
        cpo_generator_221.generate_endpoint(ModuleID.commands, InterfaceRole.receiver),
    )
    ENDPOINTS[VersionNumber.v_2_1_1][RoleEnum.cpo].setdefault(
        ModuleID.commands,
        cpo_generator_211.generate_endpoint(ModuleID.commands),
    )


def create_app(
    role: str,
    versions: list[str],
    base_url: str,
    country_code: str = "NL",
    party_id: str = "XWP",
    state_file: str | None = None,
    patch_cpo_commands_endpoint: bool = True,
):
    """Build the extrawest app for ``role`` ("CPO" or "EMSP"), wrapped with
    our inbound recorder.  Returns (asgi_app, fastapi_app, state)."""
    global STATE
    STATE = PartnerState(role, versions, base_url, country_code, party_id, state_file)
    httpx.AsyncClient = RecordingAsyncClient  # see RecordingAsyncClient

    if role == "CPO" and patch_cpo_commands_endpoint:
        advertise_cpo_commands_endpoint()

    fastapi_app: FastAPI = py_ocpi.get_application(
        version_numbers=[VersionNumber(v) for v in versions],
        roles=[RoleEnum(role)],
        modules=[ModuleID.credentials_and_registration, ModuleID.commands],
        authenticator=PartnerAuthenticator,  # the class, not an instance
        crud=PartnerCrud,
    )
    fastapi_app.include_router(admin_router())
    return InboundRecorder(fastapi_app), fastapi_app, STATE
