"""The operator CLI against a table (moto): parties, tokens shown once, loading files, commands, reservations."""

import json

import pytest

from helpers import auth, ocpi_token
from ocpi_commands import composition
from ocpi_commands.domain.auth import token_sha256
from ocpi_commands.domain.model import PartyRef
from ocpi_commands_dev.cli.main import main


def cli(*args, stdin=None, monkeypatch=None):
    if stdin is not None and monkeypatch is not None:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--table", "test-commands", *args])


def test_register_prints_the_token_once_and_stores_only_its_hash(ddb, capsys, monkeypatch, api):
    assert (
        cli(
            "party",
            "register",
            "--country-code",
            "it",
            "--party-id",
            "abc",
            "--name",
            "Italian eMSP",
            "--permissions",
            "START_SESSION,STOP_SESSION",
            "--outbound-token-stdin",
            stdin="token-they-gave-us\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(token) >= 40
    items = json.dumps(ddb._scan_type("PARTY") + ddb._scan_type("CREDENTIALS"))
    assert token not in items and token_sha256(token) in items
    party = ddb.get_party(PartyRef(country_code="IT", party_id="ABC"))
    assert party.outbound_token == "token-they-gave-us"
    # The new token works on the API right away.
    answer = api.command(
        "STOP_SESSION", {"response_url": "https://x.example.com/cb", "session_id": "NOPE"}, token=token
    )
    assert answer.result == "UNKNOWN_SESSION"
    assert cli("party", "register", "--country-code", "IT", "--party-id", "ABC") == 2
    assert "already exists" in capsys.readouterr().err


def test_rotate_replaces_the_token(ddb, capsys, api):
    assert cli("party", "rotate", "DE", "TNM") == 0
    printed = capsys.readouterr().out
    assert "stops working within the stack's credentials cache TTL" in printed and "10 s by default" in printed
    new_token = printed.strip().splitlines()[-1]
    composition.credentials_cache().clear()
    body = {"response_url": "https://x.example.com/cb", "session_id": "NOPE"}
    assert api.command("STOP_SESSION", body, token="demo-emsp-token-c").status == 401
    assert api.command("STOP_SESSION", body, token=new_token).result == "UNKNOWN_SESSION"


def test_set_permissions(ddb, capsys, api):
    assert cli("party", "set-permissions", "FR", "OTH", "START_SESSION,UNLOCK_CONNECTOR") == 0
    assert "START_SESSION, UNLOCK_CONNECTOR" in capsys.readouterr().out
    assert cli("party", "set-permissions", "FR", "OTH", "DANCE") == 2
    assert "permissions are command types" in capsys.readouterr().err


def test_disable_refuses_calls(ddb, api, capsys):
    assert cli("party", "disable", "DE", "TNM") == 0
    assert "refused (401) within the stack's credentials cache TTL" in capsys.readouterr().out
    composition.credentials_cache().clear()
    assert api.command("STOP_SESSION", {"response_url": "https://x.example.com/c", "session_id": "S"}).status == 401


def test_load_locations_and_sessions(ddb, tmp_path, capsys):
    locations = tmp_path / "locations.json"
    locations.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "id": "NEWLOC",
                        "evses": [
                            {"uid": "E1", "capabilities": ["REMOTE_START_STOP_CAPABLE"], "connectors": [{"id": "1"}]}
                        ],
                    }
                ],
                "status_code": 1000,
            }
        )
    )
    assert cli("load", "locations", str(locations)) == 0
    assert ddb.get_location("newloc").evse("e1") is not None
    sessions = tmp_path / "sessions.json"
    sessions.write_text(
        json.dumps(
            [
                {
                    "id": "S9",
                    "cdr_token": {
                        "country_code": "DE",
                        "party_id": "TNM",
                        "uid": "U",
                        "type": "RFID",
                        "contract_id": "C",
                    },
                    "location_id": "NEWLOC",
                    "evse_uid": "E1",
                    "connector_id": "1",
                    "status": "ACTIVE",
                }
            ]
        )
    )
    assert cli("load", "sessions", str(sessions)) == 0
    assert ddb.get_session("S9").owner.key == "DE*TNM"
    assert "Loaded 1 sessions" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kind", "content", "message"),
    [
        (
            "locations",
            '[{"id": "OK"}, {"id": "BAD", "evses": [{"status": "AVAILABLE"}]}]',
            "locations[1] (id BAD): evses.0.uid: Field required",
        ),
        ("locations", '{"id": ', "not valid JSON (line 1"),
        ("sessions", '[{"id": "S1", "location_id": "L"}]', "sessions[0] (id S1): cdr_token: Field required"),
        (
            "seed",
            '{"parties": [{"country_code": "DEU", "party_id": "X", "token": "t"}]}',
            "parties[0] (DEU*X): country_code",
        ),
    ],
)
def test_bad_files_name_the_record_and_field(ddb, tmp_path, capsys, kind, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert cli("load", kind, str(path)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_file(ddb, capsys):
    assert cli("load", "locations", "/no/such/file.json") == 2
    assert "no such file" in capsys.readouterr().err


def test_commands_pending_and_show(ddb, api, capsys):
    answer = api.command(
        "START_SESSION",
        {
            "response_url": "https://x.example.com/cb/1",
            "token": ocpi_token(),
            "location_id": "LOC1",
            "evse_uid": "3256",
        },
        headers={"X-Correlation-ID": "corr-show"},
    )
    assert answer.result == "ACCEPTED"
    capsys.readouterr()  # drop the API's own output (EMF metric lines)
    assert cli("--json", "commands", "pending") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["command_type"] == "START_SESSION" and row["party"] == "DE*TNM"
    assert cli("commands", "show", row["command_id"]) == 0
    text = capsys.readouterr().out
    assert "START_SESSION" in text and "corr-show" in text and "https://x.example.com/cb/1" in text
    assert "OCPI version   2.2.1" in text
    assert ocpi_token()["uid"] not in text  # the Token is masked
    assert cli("commands", "show", "nope") == 2


def test_no_target_is_a_clear_error(capsys):
    assert main(["commands", "pending"]) == 2
    assert "say which stack" in capsys.readouterr().err


def test_openapi(capsys):
    assert main(["openapi"]) == 0
    assert "/ocpi/cpo/2.2.1/commands/START_SESSION" in json.loads(capsys.readouterr().out)["paths"]


def test_auth_helper_matches_the_spec_example():
    assert auth("example-token") == "Token ZXhhbXBsZS10b2tlbg=="


def test_the_revocation_delay_is_the_stacks_setting():
    from ocpi_commands_dev.cli.target import Target

    deployed = Target("t", None, None, "eu-west-1", None, credentials_cache_ttl="5")
    assert deployed.revocation_delay() == "within 5 s (the credentials cache TTL, CredentialsCacheTtlSeconds)"
