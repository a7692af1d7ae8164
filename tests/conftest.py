"""Shared fixtures. Unit tests never touch the network: AWS is moto (in-process) or DynamoDB Local."""

import os
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import Api, seed


@pytest.fixture
def ddb() -> Iterator[Any]:
    """moto DynamoDB with the table created from template.yaml's own definition, seeded with the sample."""
    from moto import mock_aws

    from ocpi_commands import aws
    from ocpi_commands.config import reset_settings
    from ocpi_commands.dal.repository import Repository
    from ocpi_commands.handlers import api, runtime
    from ocpi_commands.loading import load_seed
    from ocpi_commands.local import template as tpl

    saved = {k: os.environ.get(k) for k in ("TABLE_NAME", "STAGE", "CPO_COUNTRY_CODE", "CPO_PARTY_ID")}
    os.environ.update({"TABLE_NAME": "test-commands", "STAGE": "test", "CPO_COUNTRY_CODE": "NL", "CPO_PARTY_ID": "CPO"})
    with mock_aws():
        aws.reset_clients()
        reset_settings()
        api.reset_state()
        runtime.reset()
        import boto3

        boto3.client("dynamodb").create_table(
            **tpl.create_table_kwargs(tpl.load_template(), "CommandsTable", "test-commands")
        )
        repository = Repository("test-commands")
        load_seed(repository, seed())
        yield repository
        aws.reset_clients()
        reset_settings()
        api.reset_state()
        runtime.reset()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def api(ddb: Any) -> Api:
    return Api()
