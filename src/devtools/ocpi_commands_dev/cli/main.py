"""``ocpi-commands``: run the product locally, and operate a stack (local or deployed).

    ocpi-commands run                                  # what `make run` starts
    ocpi-commands --local party register --country-code DE --party-id TNM --outbound-token-stdin
    ocpi-commands --config-env prod commands pending
    ocpi-commands --stack ocpi-commands-dev --region eu-west-1 commands show <command_id>
    ocpi-commands --local emsp send START_SESSION --cpo NL*CPO --request-file start.json --wait

The target stack comes from ``--local`` (the emulation of ``make run``), ``--stack`` (CloudFormation
outputs), ``--config-env`` (``samconfig.toml``) or explicit ``--table``/``--event-bus``/``--endpoint-url``.
Errors are printed as one line (exit status 2), never as a traceback.
"""

import argparse
import sys

from ocpi_commands_dev.cli import commands, emsp, load, local, party, reservation, simulator
from ocpi_commands_dev.cli.target import CliError, resolve_target


def parser() -> argparse.ArgumentParser:
    import os

    root = argparse.ArgumentParser(prog="ocpi-commands", description=__doc__.split("\n\n")[0])
    where = root.add_argument_group("which stack")
    where.add_argument("--local", action="store_true", help="the emulation started by `make run`")
    where.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("OCPI_LOCAL_AWS_PORT", "5500")),
        help="port of the local AWS emulation (default 5500)",
    )
    where.add_argument("--stack", help="a deployed stack's name (reads its outputs)")
    where.add_argument("--config-env", help="an environment of samconfig.toml (default, dev, prod)")
    where.add_argument("--samconfig", default="samconfig.toml", help="path of samconfig.toml")
    where.add_argument("--region")
    where.add_argument("--endpoint-url", help="AWS endpoint override")
    where.add_argument("--table", help="the DynamoDB table, if not read from the stack")
    where.add_argument("--event-bus", help="the EventBridge bus, if not read from the stack")
    where.add_argument(
        "--api-url",
        help=(
            "where the OCPI API is served: with --local, make run's (default $OCPI_LOCAL_API_URL or "
            "http://127.0.0.1:3000); with --table, the API the table belongs to"
        ),
    )
    root.add_argument("--json", action="store_true", help="machine-readable output")
    sub = root.add_subparsers(dest="group", required=True)

    for group in (local, party, load, commands, reservation, simulator, emsp):
        group.register(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    from ocpi_commands_dev.loading import LoadError

    try:
        target = resolve_target(args) if getattr(args, "needs_target", True) else None
        args.func(args, target)
    except (CliError, LoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EndpointConnectionError as exc:
        hint = " Is `make run` running?" if args.local else ""
        print(f"error: cannot reach {exc.kwargs.get('endpoint_url')}.{hint}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("error: no AWS credentials (configure a profile, or use --local)", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: AWS: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
