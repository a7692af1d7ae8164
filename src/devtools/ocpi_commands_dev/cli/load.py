"""``ocpi-commands load ...``: OCPI Locations, Sessions or a seed file, from JSON."""

import argparse
from pathlib import Path
from typing import Any

from ocpi_commands_dev.cli.target import Target


def cmd_load(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands_dev.loading import as_list, load_seed, parse_locations, parse_sessions, read_json

    data = read_json(Path(args.file))
    repo = target.repository()
    if args.kind == "seed":
        # "{api}" in partners' endpoints: this stack's own API (our CPO side as our eMSP side's partner).
        base = (target.versions_url or "").removesuffix("/ocpi/versions")
        counts = load_seed(repo, data, base) if base else load_seed(repo, data)
        print("Loaded " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        return
    if args.kind == "locations":
        locations = parse_locations(as_list(data, "locations"))
        for location in locations:
            repo.put_location(location)
        count = len(locations)
    else:
        sessions = parse_sessions(as_list(data, "sessions"))
        for session in sessions:
            repo.put_session(session)
        count = len(sessions)
    print(f"Loaded {count} {args.kind} from {args.file}")


def register(sub: Any) -> None:
    load = sub.add_parser("load", help="load OCPI Locations or Sessions (or a seed file) from JSON")
    load.add_argument("kind", choices=["locations", "sessions", "seed"])
    load.add_argument("file")
    load.set_defaults(func=cmd_load)
