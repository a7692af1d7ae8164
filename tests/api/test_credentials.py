"""The Credentials module, receiver side: an invited partner registers, rotates its token, unregisters.

The partner is a small OCPI server on 127.0.0.1 (its versions and version details), scriptable to
fail; the Credentials function is called as API Gateway calls it.
"""

import base64
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import Api, ocpi_token

TOKEN_A = "registration-token-a"  # DE*NEW in the seed: invited, not registered


class Partner:
    """A partner platform's Versions module on loopback, recording who called it with which token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.versions = ["2.2.1"]
        self.fail_versions: int | None = None
        self.endpoints = ["credentials", "commands"]
        self.reply: dict | None = None  # the Credentials it answers our POST/PUT with (None: it refuses)
        self.posted: dict | None = None
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                partner.calls.append((self.path, self.headers.get("Authorization")))
                if self.path == "/versions" and partner.fail_versions:
                    return self._send(partner.fail_versions, b"oops")
                if self.path == "/versions":
                    data = [{"version": v, "url": f"{partner.base}/{v}"} for v in partner.versions]
                elif self.path.lstrip("/") in partner.versions:
                    version = self.path.lstrip("/")
                    endpoints = [
                        {"identifier": e, "url": f"{partner.base}/{version}/{e}"}
                        | ({} if version == "2.1.1" else {"role": "RECEIVER" if e == "commands" else "SENDER"})
                        for e in partner.endpoints
                    ]
                    data = {"version": version, "endpoints": endpoints}
                else:
                    return self._send(404, b'{"status_code":2000,"timestamp":"2026-01-01T00:00:00Z"}')
                body = {"data": data, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}
                self._send(200, json.dumps(body).encode())

            def do_POST(self) -> None:  # noqa: N802 - its credentials endpoint (our initiator's registration)
                length = int(self.headers.get("Content-Length") or 0)
                partner.calls.append((f"{self.command} {self.path}", self.headers.get("Authorization")))
                partner.posted = json.loads(self.rfile.read(length) or b"null")
                if partner.reply is None:
                    self._send(200, b'{"status_code":2001,"status_message":"no","timestamp":"2026-01-01T00:00:00Z"}')
                    return
                body = {"data": partner.reply, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}
                self._send(200, json.dumps(body).encode())

            do_PUT = do_POST  # noqa: N815 - our initiator's update

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Partner":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def partner(ddb, monkeypatch):
    """The partner on 127.0.0.1: reachable under make run's response_url policy (http, loopback)."""
    from ocpi_commands import composition

    monkeypatch.setenv("RESPONSE_URL_POLICY", "local")
    composition.reset()
    with Partner() as p:
        yield p


@pytest.fixture
def credentials(ddb):
    return Api("credentials")


def body(partner, token="token-b-from-partner", roles=(("EMSP", "DE", "NEW"),)):
    return {
        "token": token,
        "url": f"{partner.base}/versions",
        "roles": [
            {"role": r, "country_code": c, "party_id": p, "business_details": {"name": f"{c}*{p} Ltd"}}
            for r, c, p in roles
        ],
    }


def register(credentials, partner, **kwargs):
    return credentials.call("POST", "/ocpi/2.2.1/credentials", body(partner, **kwargs), token=TOKEN_A)


def test_an_invited_partner_registers_and_gets_its_token(api, credentials, partner, ddb):
    answer = register(credentials, partner)
    assert (answer.status, answer.status_code) == (200, 1000), answer
    ours = answer.data
    assert ours["url"].endswith("/ocpi/versions")
    assert ours["roles"] == [  # both roles this platform plays (Roles: CPO,EMSP)
        {"role": "CPO", "business_details": {"name": "OCPI Commands"}, "party_id": "CPO", "country_code": "NL"},
        {"role": "EMSP", "business_details": {"name": "OCPI Commands"}, "party_id": "EMS", "country_code": "NL"},
    ]
    token_c = ours["token"]
    assert len(token_c) >= 22 and token_c != TOKEN_A
    # We read its versions and the details of the version it called, with the token it gave us.
    expected = "Token " + base64.b64encode(b"token-b-from-partner").decode()
    assert partner.calls == [("/versions", expected), ("/2.2.1", expected)]
    # TOKEN_A is finished; the new token works on every module.
    assert api.call("GET", "/ocpi/versions", token=TOKEN_A).status == 401
    started = api.command("START_SESSION", start(), token=token_c)
    assert started.result == "ACCEPTED", started
    party = ddb.get_party(ref("DE", "NEW"))
    assert (party.credentials_status.value, party.ocpi_version, party.outbound_token) == (
        "REGISTERED",
        "2.2.1",
        "token-b-from-partner",
    )
    assert {e.identifier for e in party.endpoints} == {"credentials", "commands"} and party.endpoints_fetched_at
    assert party.versions_url == f"{partner.base}/versions" and party.token_sha256 != "" and party.registered_at
    assert "token-b-from-partner" not in json.dumps(ddb._get({"pk": "CRED#" + party.token_sha256, "sk": "CRED"}))


def start():
    return {
        "response_url": "https://emsp.example.com/cb",
        "token": ocpi_token("DE", "NEW"),
        "location_id": "LOC1",
        "evse_uid": "3256",
    }


def ref(country_code, party_id):
    from ocpi_commands.domain.model import PartyRef

    return PartyRef(country_code=country_code, party_id=party_id)


def invite(ddb, country_code, party_id, token_a, **fields):
    """A partner invited with this TOKEN_A, as `party invite` records it."""
    from ocpi_commands.domain.auth import token_sha256
    from ocpi_commands.domain.model import CredentialsStatus, Party

    ddb.put_party(
        Party(
            ref=ref(country_code, party_id),
            token_sha256=token_sha256(token_a),
            credentials_status=CredentialsStatus.TOKEN_A,
            **fields,
        )
    )


@pytest.mark.parametrize(
    ("script", "status_code", "message"),
    [
        ({"fail_versions": 500}, 3001, "could not be read"),
        ({"versions": ["2.1.1"]}, 3002, "does not offer 2.2.1"),
        ({"endpoints": ["commands"]}, 3003, "lack credentials"),
    ],
    ids=["versions-unreachable", "no-common-version", "no-credentials-endpoint"],
)
def test_a_failed_handshake_leaves_the_partner_as_it_was(api, credentials, partner, ddb, script, status_code, message):
    for key, value in script.items():
        setattr(partner, key, value)
    before = ddb.get_party(ref("DE", "NEW"))
    answer = register(credentials, partner)
    assert (answer.status, answer.status_code) == (200, status_code), answer
    assert message in answer.body["status_message"]
    assert ddb.get_party(ref("DE", "NEW")) == before
    assert api.call("GET", "/ocpi/versions", token=TOKEN_A).status == 200  # TOKEN_A still works
    # Once the partner is fixed, the same registration succeeds.
    partner.fail_versions, partner.versions, partner.endpoints = None, ["2.2.1"], ["credentials"]
    assert register(credentials, partner).status_code == 1000


def test_the_405_rules_and_the_401_for_unknown_tokens(credentials, partner):
    assert credentials.call("PUT", "/ocpi/2.2.1/credentials", body(partner), token=TOKEN_A).status == 405
    assert credentials.call("DELETE", "/ocpi/2.2.1/credentials", token=TOKEN_A).status == 405
    token_c = register(credentials, partner).data["token"]
    again = credentials.call("POST", "/ocpi/2.2.1/credentials", body(partner), token=token_c)
    assert (again.status, again.status_code) == (405, 2000)
    assert credentials.call("POST", "/ocpi/2.2.1/credentials", body(partner), token="who-is-this").status == 401
    assert credentials.call("PATCH", "/ocpi/2.2.1/credentials", body(partner), token=token_c).status == 405


def test_put_rotates_the_tokens_and_the_old_one_stops_working(api, credentials, partner, ddb):
    token_c = register(credentials, partner).data["token"]
    partner.calls.clear()
    answer = credentials.call("PUT", "/ocpi/2.2.1/credentials", body(partner, token="new-token-b"), token=token_c)
    assert answer.status_code == 1000, answer
    new_c = answer.data["token"]
    assert new_c != token_c
    assert partner.calls[0][1] == "Token " + base64.b64encode(b"new-token-b").decode()  # fetched again, with B'
    assert api.call("GET", "/ocpi/versions", token=token_c).status == 401
    assert api.call("GET", "/ocpi/versions", token=new_c).status == 200
    assert ddb.get_party(ref("DE", "NEW")).outbound_token == "new-token-b"


def test_get_answers_our_credentials_with_the_callers_token(credentials, partner):
    token_c = register(credentials, partner).data["token"]
    ours = credentials.call("GET", "/ocpi/2.2.1/credentials", token=token_c)
    assert ours.status_code == 1000 and ours.data["token"] == token_c
    assert not [h for h in ours.headers if h.startswith("ocpi-")]  # a configuration module


def test_delete_unregisters_and_the_tokens_stop_working(api, credentials, partner, ddb):
    token_c = register(credentials, partner).data["token"]
    assert credentials.call("DELETE", "/ocpi/2.2.1/credentials", token=token_c).status_code == 1000
    assert api.call("GET", "/ocpi/versions", token=token_c).status == 401
    party = ddb.get_party(ref("DE", "NEW"))
    assert party.credentials_status.value == "UNREGISTERED" and party.outbound_token is None


def test_roles_that_do_not_name_the_invited_party_are_refused(credentials, partner, ddb):
    answer = register(credentials, partner, roles=(("EMSP", "FR", "XYZ"),))
    assert answer.status_code == 2001 and "DE*NEW" in answer.body["status_message"]
    assert ddb.get_party(ref("DE", "NEW")).credentials_status.value == "TOKEN_A"


def test_an_expired_token_a_is_401(credentials, partner, ddb):
    from ocpi_commands import composition
    from ocpi_commands.ocpi.types import utc_now

    invited = ddb.get_party(ref("DE", "NEW"))
    ddb.put_party(invited.model_copy(update={"token_a_expires_at": utc_now() - timedelta(seconds=1)}))
    composition.credentials_cache().clear()
    answer = register(credentials, partner)
    assert answer.status == 401 and "expired" in answer.body["status_message"]


def test_a_platform_with_several_roles_acts_as_each(api, credentials, partner):
    token_c = register(credentials, partner, roles=(("EMSP", "DE", "NEW"), ("EMSP", "DE", "NW2"))).data["token"]
    as_second = {"OCPI-from-country-code": "DE", "OCPI-from-party-id": "NW2"}
    answer = api.command(
        "START_SESSION", start() | {"token": ocpi_token("DE", "NW2")}, token=token_c, headers=as_second
    )
    assert answer.result == "ACCEPTED" and answer.headers["ocpi-to-party-id"] == "NW2"
    stranger = {"OCPI-from-country-code": "FR", "OCPI-from-party-id": "OTH"}
    assert api.command("START_SESSION", start(), token=token_c, headers=stranger).status == 401


def test_a_2_3_0_hub_registers_with_its_clients_as_roles(api, credentials, partner, ddb):
    from ocpi_commands.domain.model import PartyRole

    invite(ddb, "NL", "HB3", "hub-token-a", role=PartyRole.HUB, ocpi_version="2.3.0")
    partner.versions = ["2.3.0"]
    hub = body(partner, token="hub-token-b", roles=(("EMSP", "BE", "AAA"), ("EMSP", "BE", "BBB")))
    hub["hub_party_id"] = "NLHB3"
    answer = credentials.call("POST", "/ocpi/2.3.0/credentials", hub, token="hub-token-a")
    assert answer.status_code == 1000, answer
    party = ddb.get_party(ref("NL", "HB3"))
    assert party.role == PartyRole.HUB and party.hub_clients == ("BE*AAA", "BE*BBB")
    for_client = {"OCPI-from-country-code": "BE", "OCPI-from-party-id": "AAA"}
    command = start() | {"token": ocpi_token("BE", "AAA")}
    accepted = api.call(
        "POST", "/ocpi/cpo/2.3.0/commands/START_SESSION", command, token=answer.data["token"], headers=for_client
    )
    assert accepted.result == "ACCEPTED", accepted


def test_a_2_1_1_partner_registers_with_its_raw_token(api, credentials, partner, ddb):
    invite(ddb, "NL", "OL2", "old-token-a", ocpi_version="2.1.1", legacy_token_encoding=True)
    partner.versions = ["2.1.1"]
    old = {
        "token": "old-token-b",
        "url": f"{partner.base}/versions",
        "business_details": {"name": "Old eMSP"},
        "party_id": "OL2",
        "country_code": "NL",
    }
    answer = credentials.call("POST", "/ocpi/2.1.1/credentials", old, token="old-token-a", raw_token=True)
    assert answer.status_code == 1000, answer
    assert set(answer.data) == {"token", "url", "business_details", "party_id", "country_code"}
    assert partner.calls[0][1] == "Token old-token-b"  # raw, as 2.1.1 sends tokens
    party = ddb.get_party(ref("NL", "OL2"))
    assert party.ocpi_version == "2.1.1" and party.roles[0].role == "EMSP" and party.legacy_token_encoding


def test_our_version_details_list_credentials_and_the_modules_hosted_elsewhere(api, monkeypatch):
    from ocpi_commands.composition import reset

    monkeypatch.setenv(
        "MODULE_ENDPOINTS",
        "locations=https://cpo.example.com/ocpi/{version}/locations,tokens=https://cpo.example.com/t",
    )
    reset()
    details = api.call("GET", "/ocpi/2.2.1").data
    found = {e["identifier"]: (e["role"], e["url"]) for e in details["endpoints"]}
    assert found["credentials"][1].endswith("/ocpi/2.2.1/credentials")
    assert found["locations"] == ("SENDER", "https://cpo.example.com/ocpi/2.2.1/locations")
    assert found["tokens"] == ("RECEIVER", "https://cpo.example.com/t")


def test_the_partner_must_be_reached_through_the_outbound_guard(credentials, partner, monkeypatch):
    """With the deployed (strict) policy the callback is https to public addresses only: loopback is 3001."""
    from ocpi_commands.composition import reset

    monkeypatch.setenv("RESPONSE_URL_POLICY", "strict")
    reset()
    answer = register(credentials, partner)
    assert answer.status_code == 3001 and "outbound policy" in answer.body["status_message"]
    assert partner.calls == []


def test_headers_are_the_configuration_modules(credentials, partner):
    answer = credentials.call(
        "POST", "/ocpi/2.2.1/credentials", body(partner), token=TOKEN_A, headers={"X-Request-ID": "cred-1"}
    )
    assert answer.headers["x-request-id"] == "cred-1" and "x-correlation-id" in answer.headers


def test_a_connection_the_partner_refuses_leaves_nothing_behind(ddb, partner):
    """Our initiator registers its token for the partner before POSTing; refused, it is removed again."""
    from ocpi_commands import composition
    from ocpi_commands.domain.errors import OcpiError

    before = {p.ref.key for p in ddb.list_parties()}
    ours = composition.our_side("http://127.0.0.1:9")
    with pytest.raises(OcpiError) as refused:
        composition.credentials_service().connect(f"{partner.base}/versions", "their-token-a", ours)
    assert refused.value.status_code == 3001 and "refused our credentials" in refused.value.message
    assert partner.posted["url"] == "http://127.0.0.1:9/ocpi/versions" and len(partner.posted["token"]) >= 40
    assert {p.ref.key for p in ddb.list_parties()} == before
    assert [i for i in ddb._scan_type("CREDENTIALS") if i["party"]["country_code"] == "--"] == []


def cli(*args: str) -> int:
    from ocpi_commands_dev.cli.main import main

    # Our API's address as the CLI tells partners (nothing is called there in these tests).
    return main(["--table", "test-commands", "--api-url", "http://127.0.0.1:9", *args])


def test_party_invite_prints_a_token_a_the_partner_registers_with(api, credentials, partner, ddb, capsys):
    from ocpi_commands.domain.auth import token_sha256
    from ocpi_commands.ocpi.types import utc_now

    assert cli("party", "invite", "--country-code", "it", "--party-id", "inv", "--name", "Invited eMSP") == 0
    printed = capsys.readouterr().out
    token_a = next(line.split()[-1] for line in printed.splitlines() if "CREDENTIALS_TOKEN_A" in line)
    assert len(token_a) >= 22 and "valid until" in printed and "http://127.0.0.1:9/ocpi/versions" in printed
    party = ddb.get_party(ref("IT", "INV"))
    assert party.credentials_status.value == "TOKEN_A" and party.token_sha256 == token_sha256(token_a)
    assert token_a not in json.dumps(ddb._scan_type("PARTY") + ddb._scan_type("CREDENTIALS"))
    # TOKEN_A expires after the default 7 days.
    assert abs((party.token_a_expires_at - utc_now()) - timedelta(days=7)) < timedelta(minutes=1)

    # The partner registers with it, and commands with the token it got back are answered.
    answer = credentials.call(
        "POST", "/ocpi/2.2.1/credentials", body(partner, roles=(("EMSP", "IT", "INV"),)), token=token_a
    )
    assert answer.status_code == 1000, answer
    assert ddb.get_party(ref("IT", "INV")).credentials_status.value == "REGISTERED"
    assert api.call("GET", "/ocpi/versions", token=token_a).status == 401
    command = start() | {"token": ocpi_token("IT", "INV")}
    assert api.command("START_SESSION", command, token=answer.data["token"]).result == "ACCEPTED"


def test_our_initiator_takes_the_highest_common_version_and_update_renews_both_tokens(
    api, partner, ddb, capsys, monkeypatch
):
    from ocpi_commands import composition
    from ocpi_commands_dev.cli.target import Target

    # A --table target is a deployed stack (strict outbound policy); the partner here is on loopback.
    deployed = Target.settings
    monkeypatch.setattr(Target, "settings", lambda t: deployed(t).model_copy(update={"response_url_policy": "local"}))

    partner.versions = ["2.1.1", "2.2.1"]
    partner.reply = {
        "token": "their-token-c",
        "url": f"{partner.base}/versions",
        "roles": [{"role": "EMSP", "country_code": "IT", "party_id": "INI", "business_details": {"name": "INI"}}],
    }
    assert cli("party", "connect", "--versions-url", f"{partner.base}/versions", "--token-a", "their-token-a") == 0
    assert "Connected to IT*INI (EMSP) on OCPI 2.2.1" in capsys.readouterr().out
    with_a = "Token " + base64.b64encode(b"their-token-a").decode()
    assert partner.calls == [("/versions", with_a), ("/2.2.1", with_a), ("POST /2.2.1/credentials", with_a)]
    party = ddb.get_party(ref("IT", "INI"))
    assert (party.ocpi_version, party.outbound_token, party.credentials_status.value) == (
        "2.2.1",
        "their-token-c",
        "REGISTERED",
    )
    assert partner.posted["url"] == "http://127.0.0.1:9/ocpi/versions"
    first = partner.posted["token"]
    command = start() | {"token": ocpi_token("IT", "INI")}
    assert api.command("START_SESSION", command, token=first).result == "ACCEPTED"

    # party update: a PUT with the token it issued us; its new token is kept, ours renewed.
    partner.calls.clear()
    partner.reply = partner.reply | {"token": "their-token-c2"}
    assert cli("party", "update", "IT", "INI") == 0
    with_c = "Token " + base64.b64encode(b"their-token-c").decode()
    assert partner.calls[-1] == ("PUT /2.2.1/credentials", with_c)
    second = partner.posted["token"]
    assert second != first
    assert ddb.get_party(ref("IT", "INI")).outbound_token == "their-token-c2"
    composition.reset()  # past the credentials cache
    assert api.command("START_SESSION", command, token=first).status == 401
    assert api.command("START_SESSION", command, token=second).result == "ACCEPTED"


def test_a_2_2_1_hub_registers_and_acts_only_for_the_clients_its_roles_name(api, credentials, partner, ddb):
    from ocpi_commands.domain.model import PartyRole

    invite(ddb, "NL", "HB2", "hub2-token-a", role=PartyRole.HUB)
    hub = body(partner, token="hub2-token-b", roles=(("HUB", "NL", "HB2"), ("EMSP", "BE", "CCC")))
    answer = credentials.call("POST", "/ocpi/2.2.1/credentials", hub, token="hub2-token-a")
    assert answer.status_code == 1000, answer
    party = ddb.get_party(ref("NL", "HB2"))
    assert party.role == PartyRole.HUB and party.hub_clients == ("BE*CCC",)

    def for_client(party_id):
        headers = {"OCPI-from-country-code": "BE", "OCPI-from-party-id": party_id}
        command = start() | {"token": ocpi_token("BE", party_id)}
        return api.call(
            "POST", "/ocpi/cpo/2.2.1/commands/START_SESSION", command, token=answer.data["token"], headers=headers
        )

    assert for_client("CCC").result == "ACCEPTED"
    refused = for_client("DDD")
    assert (refused.status, refused.status_code) == (401, 2000) and "BE*DDD" in refused.body["status_message"]
    assert refused.headers["www-authenticate"] == "Token"


def test_a_2_3_0_partner_with_open_enum_values_we_do_not_know_registers(api, credentials, partner, ddb):
    """2.3.0's VersionNumber, ModuleID and Role are OpenEnums: values we do not know are kept, not refused."""
    invite(ddb, "NL", "OE3", "oe3-token-a", ocpi_version="2.3.0")
    partner.versions = ["2.3.0", "2.4"]
    partner.endpoints = ["credentials", "commands", "nloe3-tokens"]
    sent = body(partner, token="oe3-token-b", roles=(("EMSP", "NL", "OE3"), ("NLOE3-PAYMENTS", "NL", "OE3")))
    answer = credentials.call("POST", "/ocpi/2.3.0/credentials", sent, token="oe3-token-a")
    assert answer.status_code == 1000, answer
    party = ddb.get_party(ref("NL", "OE3"))
    assert party.ocpi_version == "2.3.0" and party.role.value == "EMSP"
    assert {e.identifier for e in party.endpoints} == {"credentials", "commands", "nloe3-tokens"}
    assert [r.role for r in party.roles] == ["EMSP", "NLOE3-PAYMENTS"]


def test_no_token_of_the_handshake_reaches_the_logs(api, credentials, partner, capsys, caplog):
    caplog.set_level("DEBUG", logger="ocpi-commands")  # the product's own logger, at its most verbose
    token_c = register(credentials, partner).data["token"]
    answer = credentials.call("PUT", "/ocpi/2.2.1/credentials", body(partner, token="new-token-b"), token=token_c)
    new_c = answer.data["token"]
    credentials.call("DELETE", "/ocpi/2.2.1/credentials", token=new_c)
    logged = capsys.readouterr().out + "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "Credentials" in logged or "credentials" in logged  # the handshake was logged
    for token in (TOKEN_A, "token-b-from-partner", "new-token-b", token_c, new_c):
        assert token not in logged
        assert base64.b64encode(token.encode()).decode() not in logged
