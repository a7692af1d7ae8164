"""The OCPI API function (API Gateway REST API -> Lambda): the Commands receiver and the Versions module.

The shared doorway (``api.doorway``) with the routes of ``api.routes``. Answers, in order of
precedence (README, "Answers"):
  body above the size limit        413, 2001
  bad or missing credentials       401, 2000
  OCPI-to-* naming another party   200, 2001
  unknown path or version          404, 2000
  other method on a command path   405, 2000 (Allow: POST)
  another version than the party's 200, 2000, data CommandResponse{REJECTED}
  body not JSON                    400, 2001
  schema error                     200, 2001, data CommandResponse{REJECTED}, message naming the field
  unknown {command}                200, 1000, data CommandResponse{NOT_SUPPORTED}
  the decision table               200, 1000/2001/2003, data CommandResponse
  dependency failure               200, 3000 (nothing was accepted)
"""

from typing import Any

from ocpi_commands.api import doorway, routes


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return doorway.serve(event, context, routes.route, routes.functional_version, routes.version_of)
