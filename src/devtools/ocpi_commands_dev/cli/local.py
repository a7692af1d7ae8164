"""``ocpi-commands run`` (what `make run` starts) and ``ocpi-commands openapi``."""

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ocpi_commands_dev.cli.target import Target


def cmd_run(args: argparse.Namespace, _: Target | None) -> None:
    from ocpi_commands.config import uniform_timeouts
    from ocpi_commands_dev.emulation.server import RunOptions, run

    timeouts = uniform_timeouts(args.timeout) if args.timeout is not None else args.timeouts
    run(
        RunOptions(
            host=args.host,
            port=args.port,
            aws_port=args.aws_port,
            receiver_port=None if args.no_receiver else args.receiver_port,
            seed=Path(args.seed) if args.seed else None,
            timeouts=timeouts,
            verbose=args.verbose,
            strict_response_urls=args.strict_response_urls,
        )
    )


def cmd_openapi(args: argparse.Namespace, _: Target | None) -> None:
    from ocpi_commands_dev.openapi import openapi_document

    text = json.dumps(openapi_document(args.version), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"Wrote {args.output}")
    else:
        print(text)


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="run the product locally (what `make run` starts)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=int(os.environ.get("OCPI_PORT", "3000")))
    run.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("OCPI_LOCAL_AWS_PORT", "5500")),
        help="port of the embedded AWS emulation (default 5500)",
    )
    run.add_argument("--receiver-port", type=int, default=int(os.environ.get("OCPI_RECEIVER_PORT", "3001")))
    run.add_argument("--no-receiver", action="store_true", help="do not start the local eMSP receiver")
    run.add_argument("--seed", default=os.environ.get("OCPI_SEED"), help="seed file (default seed/sample.json)")
    run.add_argument("--timeout", type=int, help="one timeout (seconds) for every command type, for demos")
    run.add_argument(
        "--timeouts", default=os.environ.get("COMMAND_TIMEOUTS"), help="per type, e.g. START_SESSION=20,STOP_SESSION=20"
    )
    run.add_argument("--verbose", action="store_true", help="also print the functions' JSON logs")
    run.add_argument(
        "--strict-response-urls",
        action="store_true",
        help="the deployed response_url policy: https and public addresses only (default here: http and loopback too)",
    )
    run.set_defaults(func=cmd_run, needs_target=False)

    openapi = sub.add_parser("openapi", help="print the OpenAPI document generated from the models")
    openapi.add_argument("--output")
    openapi.add_argument("--version", choices=["2.1.1", "2.2.1", "2.3.0"], default="2.2.1", help="the OCPI version")
    openapi.set_defaults(func=cmd_openapi, needs_target=False)
