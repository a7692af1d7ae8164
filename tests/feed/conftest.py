"""Fixtures of the live-data tests (see feed_support.FeedStack)."""

import json
from collections.abc import Iterator

import pytest
from feed_support import PLATFORM_TOKEN, FeedStack

from helpers import seed


@pytest.fixture(scope="module")
def feed() -> Iterator[FeedStack]:
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
    from ocpi_commands_dev.emulation.platform import OcpiPlatform
    from ocpi_commands_dev.emulation.receiver import EmspReceiver
    from ocpi_commands_dev.emulation.stack import LocalAws
    from ocpi_commands_dev.loading import load_seed

    environment = {
        "RESPONSE_URL_POLICY": "local",  # the eMSP receiver and the platform listen on 127.0.0.1
        "CREDENTIALS_CACHE_TTL_SECONDS": "0",
        "FEED_PULL_PAGE_LIMIT": "10",  # more than the platform's X-Limit (3): it pages by 3
    }
    with OcpiPlatform(token=PLATFORM_TOKEN, max_limit=3) as platform:
        # The pull's schedule exists when its parameters are set (condition FeedPullEnabled). moto gives
        # the secret its ARN when it is created, in the stack: the functions are told it then.
        parameters = {
            "FeedPullIntervalMinutes": "5",
            "PlatformLocationsUrl": platform.url("locations"),
            "PlatformSessionsUrl": platform.url("sessions"),
            "PlatformTokenSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:platform-AbCdEf",
        }
        # The stack restores the environment it set, the configured secret's ARN included.
        with EmspReceiver() as receiver, LocalAws(parameters=parameters, environment=environment) as local:
            repository = Repository(local.table_name)
            load_seed(repository, seed())
            repository.put_simulator_behaviour("LOC1", None, {"mode": "accept"})
            secret = local.client("secretsmanager").create_secret(
                Name="platform", SecretString=json.dumps({"token": PLATFORM_TOKEN})
            )
            stack = FeedStack(local, receiver, repository, platform, secret["ARN"])
            stack.configure(PLATFORM_TOKEN_SECRET_ARN=secret["ARN"])
            yield stack


@pytest.fixture(autouse=True)
def _no_handler_errors(request):
    """No handler may fail unexpectedly while a live-data test runs."""
    if "feed" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("feed")
    before = len(stack.local.errors)
    yield
    assert not stack.local.errors[before:], [(e.function, repr(e.error)) for e in stack.local.errors[before:]]
