"""``ocpi-commands party ...``: eMSP partners (register, rotate, permissions, enable/disable, list)."""

import argparse
import secrets
from typing import Any

from ocpi_commands_dev.cli.target import CliError, Target, command_types, out, party_ref, read_secret


def cmd_party_register(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands_dev.loading import PartySpec

    repo = target.repository()
    ref = party_ref(args.country_code, args.party_id)
    if repo.get_party(ref) is not None:
        raise CliError(f"party {ref.key} already exists (use 'party rotate' or 'party set-permissions')")
    token = secrets.token_urlsafe(32)
    outbound = read_secret("Token the party issued to us: ") if args.outbound_token_stdin else None
    spec = PartySpec(
        country_code=ref.country_code,
        party_id=ref.party_id,
        role=args.role,
        name=args.name,
        token=token,
        credentials_status="TOKEN_A" if args.token_a else "REGISTERED",
        outbound_token=outbound,
        legacy_token_encoding=args.legacy,
        permissions=command_types(args.permissions) if args.permissions else None,
        allowed_response_url_hosts=args.allowed_host or [],
        hub_clients=args.hub_client or [],
    )
    repo.put_party(spec.to_party())
    print(f"Registered {ref.key} ({args.role}). Its credentials token, shown once (only its hash is stored):")
    print(token)


def cmd_party_rotate(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.domain.auth import token_sha256

    repo = target.repository()
    ref = party_ref(args.country_code, args.party_id)
    party = repo.get_party(ref)
    if party is None:
        raise CliError(f"party {ref.key} is not registered")
    token = secrets.token_urlsafe(32)
    repo.put_party(
        party.model_copy(update={"token_sha256": token_sha256(token)}), previous_token_sha256=party.token_sha256
    )
    print(
        f"New credentials token for {ref.key}, shown once (the previous one stops working {target.revocation_delay()}):"
    )
    print(token)


def _update_party(args: argparse.Namespace, target: Target, **changes: Any) -> Any:
    repo = target.repository()
    ref = party_ref(args.country_code, args.party_id)
    party = repo.get_party(ref)
    if party is None:
        raise CliError(f"party {ref.key} is not registered")
    updated = party.model_copy(update=changes)
    repo.put_party(updated, previous_token_sha256=party.token_sha256)
    return updated


def cmd_party_set_permissions(args: argparse.Namespace, target: Target) -> None:
    party = _update_party(args, target, permissions=frozenset(command_types(args.permissions)))
    print(f"{party.ref.key} may send: {', '.join(sorted(p.value for p in party.permissions)) or 'nothing'}")


def cmd_party_set_outbound_token(args: argparse.Namespace, target: Target) -> None:
    party = _update_party(args, target, outbound_token=read_secret("Token the party issued to us: "))
    print(f"Stored the token {party.ref.key} issued to us (used to POST CommandResults to it).")


def cmd_party_enable(args: argparse.Namespace, target: Target, enabled: bool = True) -> None:
    party = _update_party(args, target, enabled=enabled)
    effect = "its calls are accepted again" if enabled else "its calls are refused (401)"
    print(f"{party.ref.key} is {'enabled' if enabled else 'disabled'}: {effect} {target.revocation_delay()}.")


def cmd_party_list(args: argparse.Namespace, target: Target) -> None:
    parties = sorted(target.repository().list_parties(), key=lambda p: p.ref.key)
    rows = [
        {
            "party": p.ref.key,
            "role": p.role.value,
            "name": p.name,
            "enabled": p.enabled,
            "credentials": p.credentials_status.value,
            "legacy": p.legacy_token_encoding,
            "can_call_back": bool(p.outbound_token),
            "permissions": sorted(x.value for x in p.permissions),
        }
        for p in parties
    ]
    text = "\n".join(
        f"{r['party']:8} {r['role']:5} {'on ' if r['enabled'] else 'off'} {r['credentials']:10} "
        f"{'callback' if r['can_call_back'] else 'NO CALLBACK TOKEN':17} {','.join(r['permissions'])}"
        f"  {r['name'] or ''}"
        for r in rows
    )
    out(args, rows, text or "(no parties)")


def register(sub: Any) -> None:
    party = sub.add_parser("party", help="eMSP partners").add_subparsers(dest="action", required=True)
    new = party.add_parser("register", help="register a party; prints its new credentials token once")
    new.add_argument("--country-code", required=True)
    new.add_argument("--party-id", required=True)
    new.add_argument("--role", choices=["EMSP", "HUB"], default="EMSP")
    new.add_argument("--name")
    new.add_argument(
        "--outbound-token-stdin", action="store_true", help="read the token the party issued to us from standard input"
    )
    new.add_argument("--permissions", help="comma-separated command types (default: all but UNLOCK_CONNECTOR)")
    new.add_argument("--legacy", action="store_true", help="accept its raw (un-encoded) token (2.1.1/2.2 peers)")
    new.add_argument("--allowed-host", action="append", help="allowed response_url host (repeatable, *.domain)")
    new.add_argument("--hub-client", action="append", help="for a hub: an eMSP it may act for, CC*PID")
    new.add_argument("--token-a", action="store_true", help="registration token only (CREDENTIALS_TOKEN_A)")
    new.set_defaults(func=cmd_party_register)
    for name, func, help_text in [
        ("rotate", cmd_party_rotate, "issue a new credentials token (printed once)"),
        ("set-outbound-token", cmd_party_set_outbound_token, "store the token it issued to us (from stdin)"),
        ("enable", cmd_party_enable, "accept its calls again"),
        ("disable", lambda a, t: cmd_party_enable(a, t, enabled=False), "refuse its calls (401)"),
    ]:
        action = party.add_parser(name, help=help_text)
        action.add_argument("country_code")
        action.add_argument("party_id")
        action.set_defaults(func=func)
    permissions = party.add_parser("set-permissions", help="which command types it may send")
    permissions.add_argument("country_code")
    permissions.add_argument("party_id")
    permissions.add_argument("permissions", help="e.g. START_SESSION,STOP_SESSION,UNLOCK_CONNECTOR")
    permissions.set_defaults(func=cmd_party_set_permissions)
    party.add_parser("list", help="registered parties").set_defaults(func=cmd_party_list)
