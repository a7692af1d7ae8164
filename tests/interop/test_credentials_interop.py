"""The Credentials handshake with extrawest-ocpi, and our CommandResults accepted by its receivers.

Our initiator (``ocpi-commands party connect``) registers with its eMSP app (2.2.1 and 2.1.1) and its
CPO app (2.1.1); extrawest then calls our versions and version details back with the token we gave
it: an independent check of our Versions module. A command sent with that token is accepted, and
our CommandResult, POSTed with the token extrawest issued us, is accepted by its receiver.
"""

import base64

from helpers import ocpi_token, token_211


def connect(ours, partner, *extra):
    token_a = partner.admin("POST", "/token-a")["token"]
    done = ours.cli(
        "party", "connect", "--versions-url", partner.versions_url, "--token-a-stdin", *extra, stdin=token_a
    )
    assert done.returncode == 0, done.stderr + done.stdout
    [peer] = partner.state()["peers"]
    return peer, done.stdout


def our_versions_were_read(partner, ours, version):
    calls = [(o["method"], o["url"], o["status"]) for o in partner.state()["outbound"]]
    assert ("GET", f"{ours.api_url}/ocpi/versions", 200) in calls, calls
    assert ("GET", f"{ours.api_url}/ocpi/{version}", 200) in calls, calls


def test_our_initiator_registers_with_its_emsp_app_and_its_receiver_accepts_our_result(ours, partners):
    from ocpi_commands.domain.model import PartyRef

    partner = partners("EMSP", "2.2.1", "XWE")
    peer, output = connect(ours, partner)
    assert "Connected to NL*XWE" in output and "2.2.1" in output
    our_versions_were_read(partner, ours, "2.2.1")
    assert peer["versions_url"] == f"{ours.api_url}/ocpi/versions"
    assert any(e["identifier"] == "commands" for e in peer["version_details"]["endpoints"])
    party = ours.repository().get_party(PartyRef(country_code="NL", party_id="XWE"))
    assert (party.credentials_status.value, party.ocpi_version, party.outbound_token) == (
        "REGISTERED",
        "2.2.1",
        peer["token_c"],
    )
    assert {(e.identifier, e.role) for e in party.endpoints} >= {("credentials", "RECEIVER"), ("commands", "SENDER")}

    # A command sent with the token it received from us; our CommandResult with the token it issued us.
    url = f"{partner.base}/ocpi/emsp/2.2.1/commands/interop-221"
    body = {"response_url": url, "token": ocpi_token("NL", "XWE"), "location_id": "LOC1", "evse_uid": "3256"}
    headers = {
        "Authorization": "Token " + base64.b64encode(peer["token_b"].encode()).decode(),
        "OCPI-from-country-code": "NL",
        "OCPI-from-party-id": "XWE",
        "X-Request-ID": "interop-221",
    }
    status, answer = ours.request("POST", "/ocpi/cpo/2.2.1/commands/START_SESSION", body, headers)
    assert (status, answer["status_code"], answer["data"]["result"]) == (200, 1000, "ACCEPTED"), answer
    [result] = partner.wait_for("command_results")
    assert (result["uid"], result["body"]["result"]) == ("interop-221", "ACCEPTED")
    assert result["peer_id"] == peer["id"]  # it knew the token we called it with
    command = ours.command_for(url)
    assert command.delivery_status.value == "DELIVERED" and command.delivery_attempts[-1].ocpi_status_code == 1000


def test_a_2_1_1_handshake_with_its_cpo_app(ours, partners):
    from ocpi_commands.domain.model import PartyRef

    partner = partners("CPO", "2.1.1", "XWC")
    peer, output = connect(ours, partner, "--partner-role", "CPO")
    assert "Connected to NL*XWC" in output and "2.1.1" in output
    our_versions_were_read(partner, ours, "2.1.1")
    assert set(peer["credentials"]) >= {"token", "url", "business_details", "party_id", "country_code"}
    party = ours.repository().get_party(PartyRef(country_code="NL", party_id="XWC"))
    assert (party.ocpi_version, party.role.value, party.legacy_token_encoding) == ("2.1.1", "CPO", True)
    assert {e.identifier for e in party.endpoints} >= {"credentials", "commands"}
    shown = ours.cli("party", "show", "NL", "XWC")
    assert shown.returncode == 0 and "OCPI version   2.1.1" in shown.stdout and "commands" in shown.stdout


def test_our_2_1_1_result_is_accepted_by_its_2_1_1_receiver(ours, partners):
    partner = partners("EMSP", "2.1.1", "XW1")
    peer, _ = connect(ours, partner)
    url = f"{partner.base}/ocpi/emsp/2.1.1/commands/interop-211"
    body = {"response_url": url, "token": token_211(), "location_id": "LOC1", "evse_uid": "3256"}
    headers = {"Authorization": f"Token {peer['token_b']}", "X-Request-ID": "interop-211"}  # raw, as in 2.1.1
    status, answer = ours.request("POST", "/ocpi/cpo/2.1.1/commands/START_SESSION", body, headers)
    assert (status, answer["status_code"], answer["data"]) == (200, 1000, {"result": "ACCEPTED"}), answer
    [result] = partner.wait_for("command_results")
    assert (result["version"], result["body"]) == ("2.1.1", {"result": "ACCEPTED"})  # the CommandResponse object
    command = ours.command_for(url)
    assert command.delivery_status.value == "DELIVERED" and command.ocpi_version == "2.1.1"
