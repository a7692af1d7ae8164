"""Shared fixtures. Unit tests never touch the network: AWS is moto (in-process) or DynamoDB Local."""

import base64
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import Api, ocpi_token, seed


class _AllLines(logging.Handler):
    def __init__(self, formatter: logging.Formatter | None):
        super().__init__()
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's own lock
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is checked raw
            self.lines.append(str(record.__dict__))


def _secrets() -> set[str]:
    found: set[str] = set()
    for party in seed()["parties"]:
        for key in ("token", "outbound_token"):
            if party.get(key):
                found |= {party[key], base64.b64encode(party[key].encode()).decode()}
    driver = ocpi_token()
    return found | {driver["uid"], driver["contract_id"], "token-they-gave-us"}


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log_line() -> Iterator[None]:
    """Credentials tokens and driver Token ids never appear in a log line, anywhere in the suite."""
    from ocpi_commands.observability import logger

    ours, others = _AllLines(logger.registered_formatter), _AllLines(logging.Formatter("%(name)s %(message)s"))
    logger.addHandler(ours)
    logging.getLogger().addHandler(others)
    yield
    logger.removeHandler(ours)
    logging.getLogger().removeHandler(others)
    secrets = _secrets()
    leaks = [(secret, line[:300]) for line in ours.lines + others.lines for secret in secrets if secret in line]
    assert not leaks, leaks[:5]


@pytest.fixture
def ddb() -> Iterator[Any]:
    """moto DynamoDB with the table created from template.yaml's own definition, seeded with the sample."""
    from moto import mock_aws

    from ocpi_commands import composition
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
    from ocpi_commands_dev.emulation import template as tpl
    from ocpi_commands_dev.loading import load_seed

    saved = {k: os.environ.get(k) for k in ("TABLE_NAME", "STAGE", "CPO_COUNTRY_CODE", "CPO_PARTY_ID")}
    os.environ.update({"TABLE_NAME": "test-commands", "STAGE": "test", "CPO_COUNTRY_CODE": "NL", "CPO_PARTY_ID": "CPO"})
    with mock_aws():
        composition.reset()
        import boto3

        boto3.client("dynamodb").create_table(
            **tpl.create_table_kwargs(tpl.load_template(), "CommandsTable", "test-commands")
        )
        repository = Repository("test-commands")
        load_seed(repository, seed())
        yield repository
        composition.reset()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def api(ddb: Any) -> Api:
    return Api()
