"""The connection goes to the address that was checked: the real HTTP client (urllib3) against local
receivers on 127.0.0.1, with names under ``.invalid`` resolved by an injected resolver.

What is checked is what is connected to: the request reaches the checked address with the URL's own
``Host`` header and request target; over TLS the server name (SNI) and the certificate check are
those of the URL's host, not of the address."""

import datetime as dt
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ocpi_commands.adapters.http import Urllib3Poster
from ocpi_commands.config import Settings
from ocpi_commands.domain.delivery import Deliverer
from ocpi_commands.domain.model import (
    CommandRecord,
    CommandStatus,
    DeliveryAttempt,
    DeliveryStatus,
    Party,
    PartyRef,
    ResultSource,
)
from ocpi_commands.domain.ports import Transition
from ocpi_commands.ocpi.vocabulary import CommandResultType, CommandType
from ocpi_commands_dev.emulation.receiver import EmspReceiver

TNM = PartyRef(country_code="DE", party_id="TNM")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Store:
    """The Deliverer's two conditional writes, in memory, for one command."""

    def __init__(self, command: CommandRecord):
        self.command = command

    def begin_delivery_attempt(self, command_id, owner, attempt):
        self.command = self.command.model_copy(update={"delivery_attempts": (*self.command.delivery_attempts, attempt)})
        return Transition(True, self.command)

    def finish_delivery_attempt(self, command_id, owner, attempt, final_status, now, error=None, request_id=None):
        attempts = list(self.command.delivery_attempts)
        attempts[attempt.number - 1] = attempt
        update = {"delivery_attempts": tuple(attempts), "delivery_error": error}
        if final_status is not None:
            update["delivery_status"] = final_status
        self.command = self.command.model_copy(update=update)
        return Transition(True, self.command)


def command(url: str) -> CommandRecord:
    return CommandRecord(
        command_id="c1",
        command_type=CommandType.START_SESSION,
        party=TNM,
        request={},
        response_url=url,
        response={},
        timeout=30,
        accepted_at=T0,
        deadline=T0 + timedelta(seconds=30),
        request_id="r1",
        correlation_id="corr-1",
        status=CommandStatus.RESOLVED,
        result=CommandResultType.ACCEPTED,
        result_source=ResultSource.CHARGE_POINT,
        resolved_at=T0,
        delivery_status=DeliveryStatus.DELIVERING,
        delivery_owner="owner-1",
        delivery_attempts=(DeliveryAttempt(number=1, started_at=T0),),
    )


def resolver(host: str, port: int) -> list[str]:
    """Test DNS: every name under .invalid is this machine's loopback address; nothing else resolves."""
    if host.endswith(".invalid"):
        return ["127.0.0.1"]
    raise OSError(f"{host} does not resolve in these tests")


def deliver(url: str, ca_file: str | None = None) -> Store:
    settings = Settings(table_name="t", response_url_policy="local", delivery_retry_window_seconds=0)
    party = Party(ref=TNM, token_sha256="0" * 64, outbound_token="their-token")
    store = Store(command(url))
    poster = Urllib3Poster(connect_timeout=2, read_timeout=5, ca_certs=ca_file)
    from ocpi_commands.ocpi.dialects import RESULT_WIRE

    deliverer = Deliverer(store, settings, lambda ref: party, poster, resolver, RESULT_WIRE)
    deliverer.deliver(store.command, "owner-1")
    return store


def test_a_name_is_connected_to_at_its_checked_address_with_its_own_host_header():
    with EmspReceiver() as receiver:
        store = deliver(f"http://cb.emsp.invalid:{receiver.port}/ocpi/emsp/cb/1?x=1&y=%2F")
        [received] = receiver.received
    assert store.command.delivery_status == DeliveryStatus.DELIVERED
    assert received.path == "/ocpi/emsp/cb/1?x=1&y=%2F"  # the request target, verbatim
    assert received.header("Host") == f"cb.emsp.invalid:{receiver.port}"


# ------------------------------------------------------------------------------ TLS


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A CA, and a server certificate of that CA for cb.emsp.invalid only."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)

    def certificate(subject, issuer, key, signing_key, *, ca, names=()):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False)
        )
        if ca:
            usage = {k: False for k in ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement")}
            usage.update(encipher_only=False, decipher_only=False)
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, **usage), critical=True
            )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Test CA", "Test CA", ca_key, ca_key, ca=True)
    leaf = certificate("cb.emsp.invalid", "Test CA", leaf_key, ca_key, ca=False, names=["cb.emsp.invalid"])
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(ca_file), str(cert_file), str(key_file)


@pytest.fixture
def https_receiver(tls):
    _, cert_file, key_file = tls
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    with EmspReceiver(ssl_context=context) as receiver:
        receiver.server_names = server_names
        yield receiver


def test_tls_names_the_urls_host_and_checks_the_certificate_for_it(tls, https_receiver):
    store = deliver(f"https://cb.emsp.invalid:{https_receiver.port}/cb/tls", ca_file=tls[0])
    assert store.command.delivery_status == DeliveryStatus.DELIVERED
    assert https_receiver.server_names == ["cb.emsp.invalid"]  # SNI: the host, not 127.0.0.1
    assert [r.header("Host") for r in https_receiver.received] == [f"cb.emsp.invalid:{https_receiver.port}"]


def test_a_certificate_for_another_name_fails_though_the_address_is_the_same(tls, https_receiver):
    store = deliver(f"https://other.emsp.invalid:{https_receiver.port}/cb/tls", ca_file=tls[0])
    assert store.command.delivery_status == DeliveryStatus.FAILED
    assert "TLS error" in store.command.delivery_error and "other.emsp.invalid" in store.command.delivery_error
    assert https_receiver.received == []


def test_an_ip_literal_over_tls_is_checked_against_the_address(tls, https_receiver):
    store = deliver(f"https://127.0.0.1:{https_receiver.port}/cb/tls", ca_file=tls[0])
    assert store.command.delivery_status == DeliveryStatus.FAILED  # the certificate names no IP address
    assert https_receiver.received == []
