"""The eMSP side's CommandResult receiver (API Gateway -> Lambda): our response_urls.

The shared OCPI doorway (``api.doorway``) with the routes of ``api.emsp_results``, addressed to our
eMSP parties. Answers:
  bad or missing credentials           401, 2000
  OCPI-to-* naming another party       200, 2001
  not JSON                             400, 2001
  a URL we did not give this partner   404, 2001
  not this version's CommandResult     200, 2001
  a CommandResult (first, repeated, or late)  200, 1000
  dependency failure                   200, 3000 (nothing was recorded)
"""

from typing import Any

from ocpi_commands.api import doorway, emsp_results, routes


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return doorway.serve(
        event,
        context,
        emsp_results.route,
        emsp_results.functional_version,
        routes.version_of,
        ours=emsp_results.emsp_parties,
    )
