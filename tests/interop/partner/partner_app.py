#!/usr/bin/env python3
"""Run extrawest-ocpi (py_ocpi 2025.7.16, PyPI) as an OCPI interop partner of the tests/interop tier.

Its own virtualenv (FastAPI 0.101 + pydantic 1.10: tests/interop/partner/requirements.txt) is made by
the tier's conftest under .cache/; nothing of extrawest is in this repository, only the code a
py_ocpi user writes (partner_ocpi.py: an in-memory Crud and Authenticator, and an admin API).

    python partner_app.py --role CPO  --port 8061 --versions 2.2.1,2.1.1 --state-file cpo.json
    python partner_app.py --role EMSP --port 8062 --versions 2.2.1,2.1.1 --state-file emsp.json

Serves, on 127.0.0.1 only:
  /ocpi/versions, /ocpi/{v}/details                  (extrawest)
  /ocpi/{cpo|emsp}/{v}/credentials/                  (extrawest; note the trailing slash)
  /ocpi/cpo/{v}/commands/{COMMAND}                   (extrawest, CPO role)
  /ocpi/emsp/{v}/commands/{uid}                      (extrawest, EMSP role)
  /_admin/...                                        (ours: introspection/control, no auth)

As an AWS Lambda handler: ``partner_app.lambda_handler`` (Mangum), configured
from PARTNER_* environment variables (see ``lambda_handler``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def configure_environment(
    public_base_url: str, command_await_time: int = 1, debug: bool = False, ci_case: str = "upper"
) -> None:
    """Set py_ocpi's settings.  MUST run before anything imports py_ocpi.

    - OCPI_HOST/PROTOCOL: used verbatim to build every advertised URL
      ("{PROTOCOL}://{OCPI_HOST}/ocpi/..."), so OCPI_HOST is "host:port".
    - COMMAND_AWAIT_TIME: CPO result polling runs 30*N iterations of 2 s,
      i.e. it gives up after 60*N seconds and then sends FAILED (2.2.1) /
      TIMEOUT (2.1.1).  Default here 1 -> 60 s (extrawest's default 5 -> 300 s).
    - CI_STRING_LOWERCASE_PREFERENCE: py_ocpi rewrites the case of every
      CiString it parses (party_id, country_code, location_id, uid, ...), in
      what it stores *and* what it returns.  extrawest's default is lower
      case ("nl"/"xwp"); we default to upper case, as OCPI parties use.
    """
    if "py_ocpi" in sys.modules:
        raise RuntimeError("py_ocpi already imported; its settings are frozen")
    protocol, _, host = public_base_url.partition("://")
    os.environ.update(
        {
            "PROTOCOL": protocol,
            "OCPI_HOST": host.rstrip("/"),
            "OCPI_PREFIX": "ocpi",
            "COMMAND_AWAIT_TIME": str(command_await_time),
            "ENVIRONMENT": "development" if debug else "production",
            "NO_AUTH": "false",
            "CI_STRING_LOWERCASE_PREFERENCE": "true" if ci_case == "lower" else "false",
        }
    )
    # extrawest's httpx clients must never go through a proxy
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(var, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "*"


def build(
    role: str,
    versions: list[str],
    base_url: str,
    state_file: str | None = None,
    country_code: str = "NL",
    party_id: str = "XWP",
    command_await_time: int = 1,
    debug: bool = False,
    patch_cpo_commands_endpoint: bool = True,
    ci_case: str = "upper",
):
    """Configure the environment, import py_ocpi, and return (asgi_app, state)."""
    configure_environment(base_url, command_await_time, debug, ci_case)
    import partner_ocpi  # noqa: E402  (imports py_ocpi)

    app, _fastapi_app, st = partner_ocpi.create_app(
        role=role,
        versions=versions,
        base_url=base_url,
        country_code=country_code,
        party_id=party_id,
        state_file=state_file,
        patch_cpo_commands_endpoint=patch_cpo_commands_endpoint,
    )
    return app, st


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--role", required=True, choices=["CPO", "EMSP"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument(
        "--versions",
        default="2.2.1,2.1.1",
        help="comma-separated, from 2.2.1 and 2.1.1 (order = order in /ocpi/versions)",
    )
    p.add_argument("--state-file", help="JSON mirror of the partner state, rewritten on every change")
    p.add_argument("--country-code", default="NL")
    p.add_argument("--party-id", default="XWP")
    p.add_argument(
        "--command-await-time",
        type=int,
        default=1,
        help="py_ocpi COMMAND_AWAIT_TIME; CPO gives up waiting for a result after 60*N s",
    )
    p.add_argument(
        "--ci-case",
        choices=["upper", "lower"],
        default="upper",
        help="case py_ocpi forces on CiStrings (extrawest default: lower)",
    )
    p.add_argument(
        "--no-patch-cpo-commands-endpoint",
        action="store_true",
        help="keep extrawest's CPO version details as shipped (commands not listed)",
    )
    p.add_argument("--debug", action="store_true", help="py_ocpi DEBUG logs")
    args = p.parse_args(argv)
    args.versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    bad = set(args.versions) - {"2.2.1", "2.1.1"}
    if bad:
        p.error(f"unsupported versions: {sorted(bad)}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    base_url = f"http://127.0.0.1:{args.port}"
    app, st = build(
        role=args.role,
        versions=args.versions,
        base_url=base_url,
        state_file=args.state_file,
        country_code=args.country_code,
        party_id=args.party_id,
        command_await_time=args.command_await_time,
        debug=args.debug,
        patch_cpo_commands_endpoint=not args.no_patch_cpo_commands_endpoint,
        ci_case=args.ci_case,
    )
    import uvicorn

    # SIGTERM -> graceful uvicorn shutdown (uvicorn handles it); make sure
    # a parent's SIGINT is handled the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(
        f"extrawest partner {args.role} {','.join(args.versions)} on {base_url} (state: {args.state_file or '-'})",
        flush=True,
    )
    uvicorn.run(
        app,
        host="127.0.0.1",  # loopback only, by design
        port=args.port,
        log_level="info" if args.debug else "warning",
        timeout_graceful_shutdown=3,
    )


# ---------------------------------------------------------------------------
# AWS Lambda entry point (Mangum).  Configure with environment variables:
#   PARTNER_ROLE=CPO|EMSP  PARTNER_VERSIONS=2.2.1,2.1.1
#   PARTNER_BASE_URL=https://<api-id>.execute-api.<region>.amazonaws.com[/stage]
#   PARTNER_STATE_FILE=partner.json (optional)
# Caveat: Mangum waits for the whole ASGI cycle, background tasks included,
# so a CPO START_SESSION invocation only returns after extrawest has posted
# the CommandResult (or given up after 60*COMMAND_AWAIT_TIME s).  State is
# per container (in memory).
# ---------------------------------------------------------------------------

_lambda = None


def lambda_handler(event, context):
    global _lambda
    if _lambda is None:
        from mangum import Mangum

        app, _st = build(
            role=os.environ.get("PARTNER_ROLE", "EMSP"),
            versions=os.environ.get("PARTNER_VERSIONS", "2.2.1,2.1.1").split(","),
            base_url=os.environ["PARTNER_BASE_URL"].rstrip("/"),
            state_file=os.environ.get("PARTNER_STATE_FILE"),
            command_await_time=int(os.environ.get("PARTNER_COMMAND_AWAIT_TIME", "1")),
        )
        _lambda = Mangum(app, lifespan="off")
    return _lambda(event, context)


if __name__ == "__main__":
    main()
