"""response_url guard: one strict parser, https and public addresses only (STRICT), loopback besides
public addresses (LOCAL), IPv4 embedded in IPv6, the per-party allow-list, the checks at delivery.

These tests connect nowhere: they may name any address."""

import pytest

from ocpi_commands.domain.url_policy import (
    LOCAL,
    STRICT,
    ResponseUrlRefused,
    check_address,
    check_response_url,
    checked_address,
    parse_response_url,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://emsp.example.com/cb/1",
        "https://emsp.example.com:8443/cb/1?x=1",
        "https://EMSP.Example.com/ocpi/emsp/2.2.1/commands/START_SESSION/42",
        "https://93.184.216.34/cb",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/cb",
        "https://[64:ff9b::5db8:d822]/cb",  # NAT64 of a public address
        "https://cb_1.emsp.example.com/x",
    ],
)
def test_public_https_urls_pass(url):
    check_response_url(url, STRICT)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://emsp.example.com/cb", "must use https"),
        ("https://user:pw@emsp.example.com/cb", "credentials"),
        ("https://emsp.example.com@127.0.0.1/cb", "credentials"),
        ("https://127.0.0.1/cb", "loopback"),
        ("https://localhost/cb", "local host"),
        ("https://api.localhost/cb", "local host"),
        ("https://10.1.2.3/cb", "private"),
        ("https://172.16.0.1/cb", "private"),
        ("https://192.168.1.1/cb", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),  # EC2 metadata
        ("https://[fd00:ec2::254]/cb", "private"),  # EC2 metadata over IPv6
        ("https://100.100.100.200/cb", "shared"),  # shared address space (Alibaba metadata)
        ("https://metadata.google.internal/cb", "local host"),
        ("https://[::1]/cb", "loopback"),
        ("https://[::ffff:127.0.0.1]/cb", "loopback"),
        ("https://0.0.0.0/cb", "unspecified"),
        ("https://intranet/cb", "local host"),
        ("https://224.0.0.1/cb", "multicast"),
        # Numeric forms a resolver would read as an address: not valid IP literals, refused outright.
        ("https://2130706433/cb", "numeric form"),
        ("https://0x7f000001/cb", "numeric form"),
        ("https://0177.0.0.1/cb", "numeric form"),
        ("https://127.1/cb", "numeric form"),
        ("https://1.2.3.4.5/cb", "numeric form"),
        ("https://emsp.example.123/cb", "numeric form"),
        # IPv6 spellings of IPv4 addresses: the embedded IPv4 address is the one checked.
        ("https://[::127.0.0.1]/cb", "embeds 127.0.0.1"),  # IPv4-compatible
        ("https://[::ffff:0:7f00:1]/cb", "embeds 127.0.0.1"),  # SIIT
        ("https://[64:ff9b::7f00:1]/cb", "embeds 127.0.0.1"),  # NAT64 of loopback
        ("https://[64:ff9b::a9fe:a9fe]/cb", "embeds 169.254.169.254"),  # NAT64 of the metadata address
        ("https://[2002:a9fe:a9fe::1]/cb", "embeds 169.254.169.254"),  # 6to4
        ("https://[2002:7f00:1::]/cb", "embeds 127.0.0.1"),
        ("https://[64:ff9b:1::a00:1]/cb", "private"),  # local-use NAT64
        ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/cb", "private"),  # Teredo
    ],
)
def test_refused_urls(url, reason):
    with pytest.raises(ResponseUrlRefused, match=reason):
        check_response_url(url, STRICT)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # urlsplit saw host "127.0.0.1\.example.com", urllib3 connected to 127.0.0.1:80 (issue 11, item 1)
        ("http://127.0.0.1\\.example.com/x", "backslash"),
        ("https://emsp.example.com\\@127.0.0.1/x", "credentials"),
        ("https://127.0.0.1%2f.example.com/x", "'%'"),
        ("https://emsp.example.com%00/x", "'%'"),
        ("https://[fe80::1%25eth0]/x", "IPv6 literal"),
        ("https://[v1.fe80::a]/x", "IPv6 literal"),
        ("https://[::1/x", "IPv6 literal"),
        ("https://emsp .example.com/x", "printable ASCII"),
        ("https://emsp.example.com\t/x", "printable ASCII"),
        ("https://emsp.ex\u00e4mple.com/x", "printable ASCII"),
        ("https://emsp.example.com\x7f/x", "printable ASCII"),
        ("https://emsp..example.com/x", "not a valid host name"),
        ("https://.emsp.example.com/x", "not a valid host name"),
        ("https://emsp.example.com./x", "not a valid host name"),
        ("https://-emsp.example.com/x", "not a valid host name"),
        ("https://emsp.example.com:0/x", "invalid port"),
        ("https://emsp.example.com:65536/x", "invalid port"),
        ("https://emsp.example.com:/x", "invalid port"),
        ("https://emsp.example.com:8443:1/x", "invalid port"),
        ("https:///x", "no host"),
        ("https://emsp.example.com/cb#fragment", "fragment"),
        ("https://emsp.example.com/%zz", "percent-encoding"),
        ("ftp://emsp.example.com/x", "absolute http"),
        ("//emsp.example.com/x", "absolute http"),
        ("https:emsp.example.com/x", "absolute http"),
    ],
)
def test_hosts_outside_the_host_grammar_are_refused_whatever_the_policy(url, reason):
    for policy in (STRICT, LOCAL):
        with pytest.raises(ResponseUrlRefused, match=reason):
            check_response_url(url, policy)


def test_the_parser_gives_what_the_connection_uses():
    parsed = parse_response_url("HTTPS://Cb.Emsp.Example.com:8443/r/1?x=1&y=%2F")
    assert (parsed.scheme, parsed.host, parsed.port, parsed.target) == (
        "https",
        "cb.emsp.example.com",
        8443,
        "/r/1?x=1&y=%2F",
    )
    assert parsed.host_header == "cb.emsp.example.com:8443" and parsed.ip is None
    assert parse_response_url("https://emsp.example.com?x").target == "/?x"
    v6 = parse_response_url("http://[2606:2800:220:1:248:1893:25c8:1946]/cb")
    assert (v6.port, v6.host_header, str(v6.ip)) == (80, "[2606:2800:220:1:248:1893:25c8:1946]", v6.host)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:3001/cb", "http://[::1]:3001/cb", "http://localhost:3001/cb", "https://emsp.example.com/cb"],
)
def test_the_local_policy_allows_http_and_loopback(url):
    check_response_url(url, LOCAL)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.8/cb",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/cb",
        "http://192.168.1.1/cb",
        "http://[fd00:ec2::254]/cb",
        "http://[fe80::1]/cb",
        "http://0.0.0.0:3001/cb",
        "http://metadata.google.internal/cb",
        "http://intranet/cb",
        "http://[64:ff9b::a9fe:a9fe]/cb",
    ],
)
def test_the_local_policy_refuses_every_other_private_address(url):
    with pytest.raises(ResponseUrlRefused):
        check_response_url(url, LOCAL)


def test_allow_list():
    check_response_url("https://cb.emsp.example.com/x", STRICT, ("*.emsp.example.com",))
    check_response_url("https://emsp.example.com/x", STRICT, ("*.emsp.example.com",))
    check_response_url("https://EMSP.example.com/x", STRICT, ("emsp.example.com",))
    with pytest.raises(ResponseUrlRefused, match="allow-list"):
        check_response_url("https://evil.example.net/x", STRICT, ("*.emsp.example.com",))
    with pytest.raises(ResponseUrlRefused, match="allow-list"):
        check_response_url("https://emsp.example.com.evil.net/x", STRICT, ("emsp.example.com",))


def test_resolved_addresses_at_delivery_time():
    url = parse_response_url("https://cb.emsp.example.com/x")
    public = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    assert checked_address(url, public, STRICT) == "93.184.216.34"  # the address connected to
    for bad in (["93.184.216.34", "10.0.0.7"], ["fe80::1%eth0"], ["::ffff:127.0.0.1"], ["64:ff9b::7f00:1"], []):
        with pytest.raises(ResponseUrlRefused):
            checked_address(url, bad, STRICT)
    assert checked_address(url, ["127.0.0.1"], LOCAL) == "127.0.0.1"
    with pytest.raises(ResponseUrlRefused, match="private"):
        checked_address(url, ["127.0.0.1", "10.0.0.7"], LOCAL)


def test_check_address_names_the_embedded_address():
    with pytest.raises(ResponseUrlRefused, match=r"64:ff9b::a9fe:a9fe, which embeds 169\.254\.169\.254"):
        check_address("64:ff9b::a9fe:a9fe", STRICT)
