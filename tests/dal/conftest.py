"""Fixtures of the data-access tests: one ``Repository`` per test, on moto and on DynamoDB Local.

Both engines get a fresh table created from template.yaml's own ``CommandsTable`` definition. DynamoDB Local
runs once per session (see ``dynamodb_local.py``); its tests carry the ``dynamodb_local`` marker, so
``pytest -m "not dynamodb_local"`` keeps the moto half only.
"""

import functools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dynamodb_local import DynamoDBLocal, DynamoDBLocalUnavailable
from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository

ENGINES = [
    pytest.param("moto", id="moto"),
    pytest.param("dynamodb_local", id="dynamodb_local", marks=pytest.mark.dynamodb_local),
]


@functools.cache
def _template() -> dict[str, Any]:
    from ocpi_commands_dev.emulation import template as tpl

    return tpl.load_template()


def _table_kwargs(table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments from template.yaml's own ``CommandsTable``, so tests and template cannot drift."""
    from ocpi_commands_dev.emulation import template as tpl

    return tpl.create_table_kwargs(_template(), "CommandsTable", table_name)


@pytest.fixture(scope="session")
def table_kwargs() -> Any:
    return _table_kwargs


@functools.cache
def _moto_session() -> Any:
    """One boto3 session for the moto clients (its loader caches the service model: a client costs ~3 ms)."""
    import boto3
    import moto  # noqa: F401 - moto's request hook must be registered before the session is created

    return boto3.session.Session()


def _client_config() -> Any:
    """The product's own client configuration (timeouts, retry mode), with room for the concurrency tests."""
    from botocore.config import Config

    from ocpi_commands.adapters import aws

    return aws._CLIENT_CONFIG.merge(Config(max_pool_connections=32))


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """One DynamoDB Local server for the session, stopped at its end whatever happened."""
    server = DynamoDBLocal()
    problem = None
    try:
        server.start()
    except DynamoDBLocalUnavailable as exc:
        problem = str(exc)
    if problem is not None:  # fail (never skip): the run must not pass without the tests it was asked for
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dynamodb_local_client(dynamodb_local: DynamoDBLocal) -> Any:
    return dynamodb_local.client(_client_config())


@pytest.fixture(params=ENGINES)
def repository(request: pytest.FixtureRequest) -> Iterator[Repository]:
    """A ``Repository`` on a fresh, empty table of the given engine."""
    table_name = f"test-commands-{uuid.uuid4().hex[:12]}"
    if request.param == "moto":
        from moto import mock_aws

        from ocpi_commands_dev.emulation.moto_patches import serialised_dynamodb

        with mock_aws(), serialised_dynamodb():
            client = _moto_session().client("dynamodb", region_name="us-east-1", config=_client_config())
            client.create_table(**_table_kwargs(table_name))
            yield Repository(table_name, client=client)
        return
    client = request.getfixturevalue("dynamodb_local_client")
    client.create_table(**_table_kwargs(table_name))
    try:
        yield Repository(table_name, client=client)
    finally:
        client.delete_table(TableName=table_name)
