"""docs/events.md, "Live data": the examples are valid events, and the JSON schemas there accept and refuse the
same documents as the models the feed validates with (so the page cannot drift from the code)."""

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from ocpi_commands.domain.events import EvseStatusReport, LocationReport

DOC = (Path(__file__).resolve().parents[1] / "docs" / "events.md").read_text()
SECTION = DOC[DOC.index("## Live data") :]


def blocks(title: str) -> list[dict]:
    """The JSON blocks of the section about ``title`` (the example first, then the schema)."""
    part = SECTION[SECTION.index(f"### `{title}`") :]
    part = part[: part.index("\n### ", 4)]
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", part, re.S)]


LOCATION_EXAMPLE, LOCATION_SCHEMA = blocks("Location Updated")
STATUS_EXAMPLE, STATUS_SCHEMA = blocks("EVSE Status Changed")


def test_the_examples_are_valid_events():
    location = LocationReport.model_validate(LOCATION_EXAMPLE)
    assert [e.status.value for e in location.evses] == ["AVAILABLE", "REMOVED"]
    assert location.to_domain().evse("3260") is None  # a REMOVED EVSE is gone
    assert EvseStatusReport.model_validate(STATUS_EXAMPLE).status.value == "OUTOFORDER"
    assert LOCATION_SCHEMA["title"] == "Location Updated" and STATUS_SCHEMA["title"] == "EVSE Status Changed"


def variants(example: dict, changes: list) -> list[dict]:
    found = []
    for path, value in changes:
        document = copy.deepcopy(example)
        target = document
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        found.append(document)
    return found


LOCATION_CASES = variants(
    LOCATION_EXAMPLE,
    [
        (("id",), "L" * 36),
        (("id",), "L" * 37),
        (("id",), ""),
        (("id",), "LOC\n1"),
        (("last_updated",), KeyError),
        (("last_updated",), "yesterday"),
        (("last_updated",), "2026-11-24T10:00:00.123+01:00"),
        (("country_code",), "NLD"),
        (("evses", 0, "status"), "BROKEN"),
        (("evses", 0, "status"), KeyError),
        (("evses", 0, "last_updated"), KeyError),
        (("evses", 0, "uid"), "U" * 37),
        (("evses", 0, "capabilities"), ["ISO_15118_2_PLUG_AND_CHARGE", "x_custom"]),
        (("evses", 0, "capabilities"), [""]),
        (("evses", 0, "connectors"), [{"standard": "CHADEMO"}]),
        (("evses", 0, "evse_id"), "E" * 49),
        (("evses",), []),
    ],
)

STATUS_CASES = variants(
    STATUS_EXAMPLE,
    [
        (("status",), "REMOVED"),
        (("status",), "outoforder"),
        (("evse_uid",), KeyError),
        (("location_id",), "L" * 37),
        (("capabilities",), ["RESERVABLE"]),
        (("capabilities",), None),
        (("capabilities",), "RESERVABLE"),
        (("last_updated",), "2026-11-24 10:05"),
    ],
)


def _accepted_by_model(model, document) -> bool:
    try:
        model.model_validate(document)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("model", "schema", "document"),
    [(LocationReport, LOCATION_SCHEMA, d) for d in LOCATION_CASES]
    + [(EvseStatusReport, STATUS_SCHEMA, d) for d in STATUS_CASES],
)
def test_the_documented_schema_and_the_model_agree(model, schema, document):
    by_schema = jsonschema.Draft202012Validator(schema).is_valid(document)
    assert by_schema == _accepted_by_model(model, document), document


def test_duplicate_evse_uids_are_refused_beyond_the_schema():
    document = copy.deepcopy(LOCATION_EXAMPLE)
    document["evses"][1]["uid"] = "3256"
    assert jsonschema.Draft202012Validator(LOCATION_SCHEMA).is_valid(document)
    with pytest.raises(ValidationError, match="appears more than once"):
        LocationReport.model_validate(document)
