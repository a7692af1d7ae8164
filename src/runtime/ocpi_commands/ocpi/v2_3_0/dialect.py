"""OCPI 2.3.0: 2.2.1's wire format, with OpenEnums (CommandType, TokenType): see this package."""

from dataclasses import replace

from ocpi_commands.ocpi.v2_2_1.dialect import DIALECT as V2_2_1
from ocpi_commands.ocpi.v2_2_1.dialect import version_details_for
from ocpi_commands.ocpi.v2_3_0 import commands

DIALECT = replace(
    V2_2_1,
    version=commands.VERSION,
    request_models=commands.REQUEST_MODELS,
    version_details=version_details_for(commands.VERSION),
)
