"""Fixtures of the eMSP side's tests (see emsp_support.EmspStack)."""

import json
from collections.abc import Iterator

import pytest
from emsp_support import FAKE_CPOS, GRACE, TIMEOUT, EmspStack

from helpers import seed


@pytest.fixture(scope="module")
def emsp() -> Iterator[EmspStack]:
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
    from ocpi_commands.config import uniform_timeouts
    from ocpi_commands.domain.auth import token_sha256
    from ocpi_commands.domain.model import Endpoint, Party, PartyRef, PartyRole
    from ocpi_commands_dev.emulation.apigw import Routes
    from ocpi_commands_dev.emulation.receiver import EmspReceiver
    from ocpi_commands_dev.emulation.server import ApiServer
    from ocpi_commands_dev.emulation.stack import LocalAws
    from ocpi_commands_dev.loading import load_seed

    environment = {
        "COMMAND_TIMEOUTS": uniform_timeouts(TIMEOUT),
        "DELIVERY_RETRY_WINDOW_SECONDS": "2",
        "DELIVERY_READ_TIMEOUT_SECONDS": "2",
        "DELIVERY_MARGIN_SECONDS": "1",
        "CREDENTIALS_CACHE_TTL_SECONDS": "0",
        "RESPONSE_URL_POLICY": "local",  # everything is on 127.0.0.1
        "EMSP_RESULT_GRACE_SECONDS": str(GRACE),
        "EMSP_MIN_TIMEOUT_SECONDS": "1",
    }
    with EmspReceiver() as fake_cpo:
        local = LocalAws(environment=environment)
        api = ApiServer("127.0.0.1", 0, Routes(local.template), local.invoke, "local")
        api_url = f"http://127.0.0.1:{api.port}"
        local.extra_environment["PUBLIC_BASE_URL"] = api_url
        with local:
            api.start()
            repository = Repository(local.table_name)
            load_seed(repository, seed(), api_url)
            repository.put_simulator_behaviour("LOC1", None, {"mode": "accept"})
            for version, (country, party_id, token, outbound) in FAKE_CPOS.items():
                repository.put_party(
                    Party(
                        ref=PartyRef(country_code=country, party_id=party_id),
                        role=PartyRole.CPO,
                        token_sha256=token_sha256(token),
                        outbound_token=outbound,
                        legacy_token_encoding=version == "2.1.1",
                        ocpi_version=version,
                        endpoints=(
                            Endpoint(
                                identifier="commands",
                                role=None if version == "2.1.1" else "RECEIVER",
                                url=f"{fake_cpo.url}/ocpi/cpo/{version}/commands",
                            ),
                        ),
                    )
                )
            sqs = local.client("sqs")
            queue_url = sqs.create_queue(QueueName="emsp-events")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events = local.client("events")
            pattern = {"detail-type": ["Command Completed", "Command Result Late"]}
            events.put_rule(Name="emsp-events", EventBusName=local.bus_name, EventPattern=json.dumps(pattern))
            events.put_targets(Rule="emsp-events", EventBusName=local.bus_name, Targets=[{"Id": "q", "Arn": queue_arn}])
            local.wait_stream_idle()
            try:
                yield EmspStack(local, api_url, fake_cpo, queue_url)
            finally:
                api.stop()  # the stack restores the environment it set, PUBLIC_BASE_URL included


@pytest.fixture(autouse=True)
def _fresh_fake_cpo(request):
    """Each test scripts the fake CPO's replies itself; none carries over."""
    if "emsp" in request.fixturenames:
        stack = request.getfixturevalue("emsp")
        stack.fake_cpo.script.clear()
        from ocpi_commands_dev.emulation.receiver import Reply

        stack.fake_cpo.default = Reply()
        stack.local.clear_faults()
        before = len(stack.local.errors)
        yield
        # The answer step raises AnswerNotYetRecorded while the send is in flight: the state machine retries it.
        unexpected = [
            e
            for e in stack.local.errors[before:]
            if type(e.error).__name__ != "AnswerNotYetRecorded" and not getattr(request.node, "_expected_errors", False)
        ]
        assert not unexpected, [(e.function, repr(e.error)) for e in unexpected]
        return
    yield
