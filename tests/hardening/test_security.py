"""Security: response_url guard outside the local stage, party isolation for every command type,
permissions, credentials handling, throttling and least-privilege IAM in the template."""

import pytest

from helpers import DEMO_TOKEN, OTHER_TOKEN, ocpi_token
from ocpi_commands import composition
from ocpi_commands_dev.emulation import template as tpl

URL = "https://emsp.example.com/cb"


@pytest.fixture
def production(api, monkeypatch):
    """The API as deployed (the strict response_url policy: https only, public addresses only)."""
    from ocpi_commands.composition import reset

    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.delenv("RESPONSE_URL_POLICY", raising=False)
    reset()
    yield api
    reset()


@pytest.fixture
def local_policy(api, monkeypatch):
    """The API as `make run` runs it (RESPONSE_URL_POLICY=local: http and loopback besides public)."""
    from ocpi_commands.composition import reset

    monkeypatch.setenv("RESPONSE_URL_POLICY", "local")
    reset()
    yield api
    reset()


def records(ddb, record_type="COMMAND"):
    return ddb._scan_type(record_type)


@pytest.mark.parametrize(
    "url",
    [
        "http://emsp.example.com/cb",
        "https://127.0.0.1/cb",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/cb",
        "https://localhost:8443/cb",
        "https://[::1]/cb",
        "https://metadata.google.internal/x",
        "https://2130706433/cb",
        # Issue 11: passed the guard before (the check and the connection read the host differently,
        # or an IPv6 spelling hid an IPv4 loopback or metadata address).
        "https://127.0.0.1\\.example.com/x",
        "https://emsp.example.com%2f@127.0.0.1/x",
        "https://[::127.0.0.1]/cb",
        "https://[::ffff:0:7f00:1]/cb",
        "https://[64:ff9b::7f00:1]/cb",
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "https://[2002:7f00:1::]/cb",
        "https://[fe80::1%25eth0]/cb",
    ],
)
def test_refused_response_url_is_2001_and_nothing_is_dispatched(production, ddb, url):
    answer = production.command("STOP_SESSION", {"response_url": url, "session_id": "SES-TNM-1"})
    assert (answer.status, answer.status_code, answer.result) == (200, 2001, "REJECTED")
    assert "response_url" in answer.body["status_message"]
    assert records(ddb) == []


@pytest.mark.parametrize("stage", ["test", "local", "dev"])
def test_no_stage_name_relaxes_the_policy(production, ddb, monkeypatch, stage):
    """Only the explicit setting (which `make run` sets and the template cannot) allows loopback."""
    monkeypatch.setenv("STAGE", stage)
    composition.reset()
    answer = production.command("STOP_SESSION", {"response_url": "http://127.0.0.1:9/cb", "session_id": "SES-TNM-1"})
    assert (answer.status_code, answer.result) == (2001, "REJECTED")
    assert records(ddb) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.8/cb",
        "http://169.254.169.254/latest/meta-data",
        "http://100.100.100.200/cb",
        "http://192.168.1.1/cb",
        "http://[fd00:ec2::254]/cb",
        "http://[64:ff9b::a9fe:a9fe]/cb",
        "http://metadata.google.internal/cb",
    ],
)
def test_the_local_policy_refuses_private_addresses_other_than_loopback(local_policy, ddb, url):
    answer = local_policy.command("STOP_SESSION", {"response_url": url, "session_id": "SES-TNM-1"})
    assert (answer.status, answer.status_code, answer.result) == (200, 2001, "REJECTED")
    assert records(ddb) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/cb", "http://[::1]:9/cb", "http://localhost:9/cb"])
def test_the_local_policy_allows_loopback(local_policy, ddb, url):
    answer = local_policy.command("STOP_SESSION", {"response_url": url, "session_id": "SES-TNM-1"})
    assert answer.result == "ACCEPTED"


def test_public_https_response_url_is_accepted_in_production(production, ddb):
    assert production.command("STOP_SESSION", {"response_url": URL, "session_id": "SES-TNM-1"}).result == "ACCEPTED"


def test_party_allow_list(production, ddb):
    from ocpi_commands.domain.model import PartyRef

    party = ddb.get_party(PartyRef(country_code="DE", party_id="TNM"))
    ddb.put_party(
        party.model_copy(update={"allowed_response_url_hosts": ("*.emsp.example.com",)}),
        previous_token_sha256=party.token_sha256,
    )
    composition.credentials_cache().clear()
    refused = production.command(
        "STOP_SESSION", {"response_url": "https://elsewhere.example.net/cb", "session_id": "SES-TNM-1"}
    )
    assert (refused.status_code, refused.result) == (2001, "REJECTED") and "allow-list" in refused.body[
        "status_message"
    ]
    allowed = production.command(
        "STOP_SESSION", {"response_url": "https://cb.emsp.example.com/x", "session_id": "SES-TNM-1"}
    )
    assert allowed.result == "ACCEPTED"


# ------------------------------------------------------------------------------ party isolation


def test_no_party_can_act_on_another_partys_objects(api, ddb):
    """FR*OTH against DE*TNM's session, reservation and token, for every command type."""
    from datetime import UTC, datetime, timedelta

    expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    attempts = {
        "STOP_SESSION": {"response_url": URL + "/1", "session_id": "SES-TNM-1"},
        "CANCEL_RESERVATION": {"response_url": URL + "/2", "reservation_id": "RES-SEED-1"},
        "START_SESSION": {
            "response_url": URL + "/3",
            "token": ocpi_token("DE", "TNM"),
            "location_id": "LOC1",
            "evse_uid": "3256",
        },
        "RESERVE_NOW": {
            "response_url": URL + "/4",
            "token": ocpi_token("DE", "TNM"),
            "expiry_date": expiry,
            "reservation_id": "RES-SEED-1",
            "location_id": "LOC1",
            "evse_uid": "3256",
        },
        "UNLOCK_CONNECTOR": {
            "response_url": URL + "/5",
            "location_id": "LOC1",
            "evse_uid": "3256",
            "connector_id": "1",
        },
    }
    for command, body in attempts.items():
        answer = api.command(command, body, token=OTHER_TOKEN)
        assert (answer.status, answer.status_code, answer.result) == (200, 1000, "REJECTED"), (command, answer)
        # Nothing in the answer reveals the other party's data.
        assert "DE*TNM" not in str(answer.body) and "TNM" not in answer.body.get("status_message", "")
    assert records(ddb) == []
    # The owner can.
    for command in ("STOP_SESSION", "CANCEL_RESERVATION", "START_SESSION", "RESERVE_NOW", "UNLOCK_CONNECTOR"):
        body = {**attempts[command], "response_url": attempts[command]["response_url"] + "/owner"}
        assert api.command(command, body, token=DEMO_TOKEN).result == "ACCEPTED", command


def test_unknown_and_foreign_reservations_answer_alike(api):
    """CANCEL_RESERVATION must not reveal whether another party holds a reservation id."""
    foreign = api.command(
        "CANCEL_RESERVATION", {"response_url": URL + "/a", "reservation_id": "RES-SEED-1"}, token=OTHER_TOKEN
    )
    unknown = api.command(
        "CANCEL_RESERVATION", {"response_url": URL + "/b", "reservation_id": "NO-SUCH"}, token=OTHER_TOKEN
    )
    assert (foreign.status_code, foreign.data) == (unknown.status_code, unknown.data)


def test_a_party_cannot_read_another_partys_commands(api, ddb):
    """Idempotency guards are per party: a duplicate X-Request-ID of another party is a new command."""
    body = {"response_url": URL + "/dup", "session_id": "SES-TNM-1"}
    assert api.command("STOP_SESSION", body, headers={"X-Request-ID": "same"}).result == "ACCEPTED"
    other = api.command(
        "STOP_SESSION",
        {"response_url": URL + "/dup", "session_id": "SES-OTH-1"},
        token=OTHER_TOKEN,
        headers={"X-Request-ID": "same"},
    )
    assert other.result == "ACCEPTED"
    assert {r["party_key"] for r in records(ddb)} == {"DE*TNM", "FR*OTH"}


def test_unlock_connector_is_opt_in(api):
    body = {"response_url": URL + "/u", "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"}
    assert api.command("UNLOCK_CONNECTOR", body, token=OTHER_TOKEN).result == "REJECTED"
    assert api.command("UNLOCK_CONNECTOR", body, token=DEMO_TOKEN).result == "ACCEPTED"


# ------------------------------------------------------------------------------ credentials


def test_only_token_hashes_are_stored(ddb):
    import json

    from helpers import seed

    stored = json.dumps(records(ddb, "PARTY") + records(ddb, "CREDENTIALS"))
    parties = seed()["parties"]
    # The seed's own eMSP and CPO talk to each other on one stack: the token one sends (kept, to be sent)
    # is the token the other receives. Every other token we accept is stored as its hash only.
    sent = {party.get("outbound_token") for party in parties}
    received_only = [party["token"] for party in parties if party["token"] not in sent]
    assert len(received_only) == len(parties) - 2
    for token in received_only:
        assert token not in stored


# ------------------------------------------------------------------------------ template


@pytest.fixture(scope="module")
def template():
    return tpl.load_template()


def test_api_throttling(template):
    [setting] = tpl.resource(template, "OcpiApi")["Properties"]["MethodSettings"]
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert int(template["Parameters"]["ApiThrottlingRateLimit"]["Default"]) > 0


# Actions whose API has no resource-level permissions: "*" is the narrowest possible resource.
RESOURCE_STAR_ALLOWED = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}
# SAM policy templates used, and what they expand to (all scoped to one named resource).
POLICY_TEMPLATES = {
    "StepFunctionsExecutionPolicy",
    "SQSSendMessagePolicy",
    "EventBridgePutEventsPolicy",
    "LambdaInvokePolicy",
}


def _unconditional(policies):
    """A policy under ``!If [condition, policy, !Ref AWS::NoValue]`` counts as granted."""
    for policy in policies:
        if isinstance(policy, dict) and set(policy) == {"Fn::If"}:
            yield from _unconditional(p for p in policy["Fn::If"][1:] if p != {"Ref": "AWS::NoValue"})
        else:
            yield policy


def statements(template):
    for name, res in template["Resources"].items():
        for policy in _unconditional(res.get("Properties", {}).get("Policies", []) or []):
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in policy["Statement"]:
                    yield name, statement
            else:
                yield name, policy


def _names_a_resource_of_this_stack(value, resources) -> bool:
    """``!Ref X`` or ``!GetAtt X.Attr`` of a resource defined in the template (never a literal or a wildcard)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return value["Ref"] in resources
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return value["Fn::GetAtt"][0] in resources
    return False


def test_iam_is_least_privilege(template):
    ours = template["Resources"]
    for name, statement in statements(template):
        if isinstance(statement, dict) and len(statement) == 1 and next(iter(statement)).endswith("Policy"):
            [(policy, args)] = statement.items()
            assert policy in POLICY_TEMPLATES, (name, policy)  # a new template needs a look at what it grants
            assert args and all(_names_a_resource_of_this_stack(v, ours) for v in args.values()), (name, args)
            continue
        assert isinstance(statement, dict) and statement.get("Effect") == "Allow", (name, statement)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            assert "*" not in action, (name, action)
        if "*" in resources:
            assert set(actions) <= RESOURCE_STAR_ALLOWED, (name, actions)
        for resource in resources:
            assert resource == "*" or isinstance(resource, dict), (name, resource)  # Ref/GetAtt/Sub of our resources


def test_the_api_function_cannot_touch_the_lifecycle(template):
    actions = set()
    for name, statement in statements(template):
        if name == "ApiFunction" and "Action" in statement:
            if statement["Resource"] == {"Ref": "KmsKeyArn"}:  # the optional customer managed key
                assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
                continue
            actions |= set(statement["Action"])
    assert actions == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"}
