"""Fixtures of the lifecycle tests (see lifecycle_support.Stack)."""

from collections.abc import Iterator

import pytest
from lifecycle_support import TIMEOUT, Stack

from helpers import seed


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
    from ocpi_commands.config import uniform_timeouts
    from ocpi_commands_dev.emulation.receiver import EmspReceiver
    from ocpi_commands_dev.emulation.stack import LocalAws
    from ocpi_commands_dev.loading import load_seed

    environment = {
        "COMMAND_TIMEOUTS": uniform_timeouts(TIMEOUT),
        "DELIVERY_RETRY_WINDOW_SECONDS": "4",
        "DELIVERY_READ_TIMEOUT_SECONDS": "1",
        "CREDENTIALS_CACHE_TTL_SECONDS": "0",
        "RESPONSE_URL_POLICY": "local",  # the eMSP is the local receiver on 127.0.0.1
    }
    with EmspReceiver() as receiver, LocalAws(environment=environment) as local:
        repository = Repository(local.table_name)
        load_seed(repository, seed())
        repository.put_simulator_behaviour("LOC1", None, {"mode": "accept"})  # answer at once
        yield Stack(local, receiver, repository)  # the stack restores the environment it set


@pytest.fixture(autouse=True)
def _no_handler_errors(request):
    """No handler may fail unexpectedly while a lifecycle test runs (faults injected on purpose aside)."""
    if "stack" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("stack")
    before = len(stack.local.errors)
    yield
    unexpected = [e for e in stack.local.errors[before:] if not getattr(request.node, "_expected_errors", False)]
    assert not unexpected, [(e.function, repr(e.error)) for e in unexpected]
