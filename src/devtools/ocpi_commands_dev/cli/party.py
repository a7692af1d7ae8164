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
        ocpi_version=args.version,
    )
    repo.put_party(spec.to_party())
    print(
        f"Registered {ref.key} ({args.role}, OCPI {args.version}). Its credentials token, shown once "
        f"(only its hash is stored):"
    )
    print(token)


def _credentials_service(target: Target, partner_role: str = "EMSP") -> Any:
    """The Credentials module's domain service, run from here against the target's table, calling the
    partner through the outbound guard of the target's policy (loopback and http allowed with --local)."""
    from ocpi_commands.adapters.ocpi_client import HttpOcpiClient
    from ocpi_commands.composition import required_endpoints
    from ocpi_commands.domain.credentials import CredentialsService
    from ocpi_commands.domain.url_policy import POLICIES
    from ocpi_commands.ocpi.credentials_wire import OcpiCredentialsWire

    client = HttpOcpiClient(5.0, 20.0, POLICIES[target.settings().response_url_policy])
    # 2.1.1 Credentials carry no role: the operator says what the partner is.
    return CredentialsService(target.repository(), client, OcpiCredentialsWire(partner_role), required_endpoints)


def _our_side(target: Target, partner_role: str | None = None) -> Any:
    from ocpi_commands.domain.credentials import OurSide

    if not target.versions_url:
        raise CliError("this stack's VersionsUrl is unknown (deploy it, or use --local with --api-url)")
    settings = target.settings()
    return OurSide(settings.ocpi_versions, target.versions_url, settings.our_roles(partner_role))


def _handshake(call: Any) -> Any:
    from ocpi_commands.domain.errors import OcpiError

    try:
        return call()
    except OcpiError as exc:
        raise CliError(f"the handshake failed ({exc.status_code}): {exc.message}") from None


def cmd_party_invite(args: argparse.Namespace, target: Target) -> None:
    """A pending partner and its CREDENTIALS_TOKEN_A, to send it with our versions URL."""
    from datetime import timedelta

    from ocpi_commands.domain.auth import token_sha256
    from ocpi_commands.domain.credentials import new_token
    from ocpi_commands.domain.model import DEFAULT_PERMISSIONS, CredentialsStatus, Party, PartyRole
    from ocpi_commands.ocpi.types import format_datetime, utc_now

    repo = target.repository()
    ref = party_ref(args.country_code, args.party_id)
    existing = repo.get_party(ref)
    if existing is not None and existing.credentials_status == CredentialsStatus.REGISTERED:
        raise CliError(f"party {ref.key} is registered already (party update rotates its tokens)")
    settings = target.settings()
    token = new_token()
    expires = utc_now() + timedelta(days=settings.token_a_validity_days)
    party = Party(
        ref=ref,
        role=PartyRole(args.role),
        name=args.name,
        token_sha256=token_sha256(token),
        credentials_status=CredentialsStatus.TOKEN_A,
        token_a_expires_at=expires,
        permissions=frozenset(command_types(args.permissions)) if args.permissions else DEFAULT_PERMISSIONS,
    )
    repo.put_party(party, previous_token_sha256=existing.token_sha256 if existing else None)
    print(f"Invited {ref.key}. Send it, over a secure channel (shown once; only its hash is stored):")
    print(f"  CREDENTIALS_TOKEN_A  {token}")
    print(f"  versions URL         {target.versions_url or '(this stack output VersionsUrl)'}")
    print(f"The token is valid until {format_datetime(expires)} and works only for versions and credentials.")


def cmd_party_connect(args: argparse.Namespace, target: Target) -> None:
    """We start the handshake with a partner that gave us its TOKEN_A and versions URL."""
    token_a = read_secret("The partner's CREDENTIALS_TOKEN_A: ") if args.token_a_stdin else args.token_a
    if not token_a:
        raise CliError("give --token-a TOKEN or --token-a-stdin")
    service = _credentials_service(target, args.partner_role)
    party = _handshake(lambda: service.connect(args.versions_url, token_a, _our_side(target, args.partner_role)))
    print(f"Connected to {party.ref.key} ({party.role.value}) on OCPI {party.ocpi_version}.")
    print(f"Its endpoints: {', '.join(sorted({e.identifier for e in party.endpoints}))}")


def cmd_party_update(args: argparse.Namespace, target: Target) -> None:
    """We update our credentials with a connected partner (PUT): new tokens both ways."""
    repo = target.repository()
    ref = party_ref(args.country_code, args.party_id)
    party = repo.get_party(ref)
    if party is None:
        raise CliError(f"party {ref.key} is not registered")
    service = _credentials_service(target)
    updated = _handshake(lambda: service.reconnect(party, _our_side(target, party.role.value)))
    print(f"Updated the credentials with {updated.ref.key} (OCPI {updated.ocpi_version}): new tokens both ways.")


def cmd_party_show(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.ocpi.types import format_datetime

    party = target.repository().get_party(party_ref(args.country_code, args.party_id))
    if party is None:
        raise CliError(f"party {args.country_code}*{args.party_id} is not registered")
    record = party.model_dump(mode="json", exclude={"token_sha256", "next_token_sha256", "outbound_token"})
    record["can_call_back"] = bool(party.outbound_token)

    def at(moment: Any) -> str:
        return format_datetime(moment) if moment else "-"

    lines = [
        f"{party.ref.key} ({party.role.value}) {party.name or ''}".rstrip(),
        f"  credentials    {party.credentials_status.value}"
        + (f", TOKEN_A valid until {at(party.token_a_expires_at)}" if party.token_a_expires_at else "")
        + ("" if party.enabled else ", DISABLED"),
        f"  OCPI version   {party.ocpi_version}" + (f"  (versions {party.versions_url})" if party.versions_url else ""),
        f"  registered     {at(party.registered_at)}",
        f"  calls back     {'with the token it issued us' if party.outbound_token else 'NO TOKEN: cannot be called'}"
        + (" (raw)" if party.legacy_token_encoding else ""),
    ]
    if party.roles:
        lines.append("  roles          " + ", ".join(f"{r.role} {r.country_code}*{r.party_id}" for r in party.roles))
    if party.hub_clients:
        lines.append("  hub clients    " + ", ".join(party.hub_clients))
    if party.endpoints:
        lines.append(f"  endpoints      (fetched {at(party.endpoints_fetched_at)})")
        lines += [f"    {e.identifier:16} {e.role or '':9} {e.url}" for e in party.endpoints]
    lines.append("  permissions    " + ", ".join(sorted(p.value for p in party.permissions)))
    out(args, record, "\n".join(lines))


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
    new.add_argument(
        "--version", choices=["2.1.1", "2.2.1", "2.3.0"], default="2.2.1", help="the OCPI version it speaks"
    )
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
    invite = party.add_parser("invite", help="invite a partner: prints its CREDENTIALS_TOKEN_A once")
    invite.add_argument("--country-code", required=True)
    invite.add_argument("--party-id", required=True)
    invite.add_argument("--name")
    invite.add_argument("--role", choices=["EMSP", "HUB", "CPO"], default="EMSP")
    invite.add_argument("--permissions", help="comma-separated command types (default: all but UNLOCK_CONNECTOR)")
    invite.set_defaults(func=cmd_party_invite)
    connect = party.add_parser("connect", help="register with a partner that gave us its TOKEN_A")
    connect.add_argument("--versions-url", required=True, help="the partner's versions URL")
    connect.add_argument("--token-a", help="the partner's CREDENTIALS_TOKEN_A")
    connect.add_argument("--token-a-stdin", action="store_true", help="read the TOKEN_A from standard input")
    connect.add_argument(
        "--partner-role",
        choices=["EMSP", "CPO", "HUB"],
        default="EMSP",
        help="what the partner is, if it speaks 2.1.1 (whose Credentials carry no role)",
    )
    connect.set_defaults(func=cmd_party_connect)
    for name, func, help_text in [
        ("update", cmd_party_update, "update our credentials with a connected partner (new tokens)"),
        ("show", cmd_party_show, "one partner: credentials, version, endpoints, roles"),
    ]:
        action = party.add_parser(name, help=help_text)
        action.add_argument("country_code")
        action.add_argument("party_id")
        action.set_defaults(func=func)
