"""response_url guard: https, no private/loopback/link-local/metadata targets, per-party allow-list."""

import pytest

from ocpi_commands.domain.url_policy import ResponseUrlRefused, check_resolved_addresses, check_response_url

STRICT = {"allow_insecure": False, "allow_private": False}


@pytest.mark.parametrize(
    "url",
    [
        "https://emsp.example.com/cb/1",
        "https://emsp.example.com:8443/cb/1?x=1",
        "https://93.184.216.34/cb",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/cb",
    ],
)
def test_public_https_urls_pass(url):
    check_response_url(url, **STRICT)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://emsp.example.com/cb", "https"),
        ("https://user:pw@emsp.example.com/cb", "credentials"),
        ("https://127.0.0.1/cb", "loopback"),
        ("https://localhost/cb", "local host"),
        ("https://api.localhost/cb", "local host"),
        ("https://10.1.2.3/cb", "private"),
        ("https://172.16.0.1/cb", "private"),
        ("https://192.168.1.1/cb", "private"),
        ("https://169.254.169.254/latest/meta-data/", "private"),  # EC2 metadata (link-local)
        ("https://[fd00:ec2::254]/cb", "private"),  # EC2 metadata over IPv6
        ("https://100.100.100.200/cb", "private"),  # shared address space (Alibaba metadata)
        ("https://metadata.google.internal/cb", "local host"),
        ("https://[::1]/cb", "loopback"),
        ("https://[::ffff:127.0.0.1]/cb", "loopback"),
        ("https://2130706433/cb", "loopback"),  # 127.0.0.1 as one decimal number
        ("https://0x7f000001/cb", "loopback"),
        ("https://0177.0.0.1/cb", "loopback"),
        ("https://0.0.0.0/cb", "loopback"),
        ("https://intranet/cb", "local host"),
        ("https://224.0.0.1/cb", "private"),
    ],
)
def test_refused_urls(url, reason):
    with pytest.raises(ResponseUrlRefused):
        check_response_url(url, **STRICT)


def test_local_stage_allows_http_and_loopback():
    check_response_url("http://127.0.0.1:3001/cb", allow_insecure=True, allow_private=True)


def test_allow_list():
    check_response_url("https://cb.emsp.example.com/x", **STRICT, allowed_hosts=("*.emsp.example.com",))
    check_response_url("https://emsp.example.com/x", **STRICT, allowed_hosts=("*.emsp.example.com",))
    check_response_url("https://EMSP.example.com/x", **STRICT, allowed_hosts=("emsp.example.com",))
    with pytest.raises(ResponseUrlRefused, match="allow-list"):
        check_response_url("https://evil.example.net/x", **STRICT, allowed_hosts=("*.emsp.example.com",))
    with pytest.raises(ResponseUrlRefused, match="allow-list"):
        check_response_url("https://emsp.example.com.evil.net/x", **STRICT, allowed_hosts=("emsp.example.com",))


def test_resolved_addresses_at_delivery_time():
    check_resolved_addresses(["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"], allow_private=False)
    with pytest.raises(ResponseUrlRefused):
        check_resolved_addresses(["93.184.216.34", "10.0.0.7"], allow_private=False)
    with pytest.raises(ResponseUrlRefused):
        check_resolved_addresses(["fe80::1%eth0"], allow_private=False)
    check_resolved_addresses(["127.0.0.1"], allow_private=True)
