"""Authorization header parsing, constant-time hash check, legacy tokens, hubs, caching."""

import base64

import pytest

from ocpi_commands.domain.auth import (
    CredentialsCache,
    authenticate,
    encode_token,
    identify_caller,
    token_candidates,
    token_sha256,
)
from ocpi_commands.domain.errors import Unauthorized
from ocpi_commands.domain.model import CredentialsStatus, Party, PartyRef, PartyRole


def party(token: str, **overrides) -> Party:
    fields = {"ref": PartyRef(country_code="DE", party_id="TNM"), "token_sha256": token_sha256(token)}
    fields.update(overrides)
    return Party(**fields)


def lookup_for(*parties: Party, status=CredentialsStatus.REGISTERED):
    table = {p.token_sha256: (p, status) for p in parties}
    calls = []

    def lookup(sha):
        calls.append(sha)
        return table.get(sha)

    lookup.calls = calls
    return lookup


def test_encode_token_is_base64_of_the_utf8_token_without_newline():
    assert encode_token("example-token") == "Token ZXhhbXBsZS10b2tlbg=="


def test_candidates_decoded_first_then_raw():
    candidates = token_candidates("Token ZXhhbXBsZS10b2tlbg==")
    assert [c.base64_encoded for c in candidates] == [True, False]
    assert candidates[0].sha256 == token_sha256("example-token")
    assert candidates[1].sha256 == token_sha256("ZXhhbXBsZS10b2tlbg==")


def test_a_raw_token_that_is_not_base64_has_one_candidate():
    assert [c.base64_encoded for c in token_candidates("Token abc-def_!")] == [False]


@pytest.mark.parametrize("header", [None, "", "Token", "Token ", "Basic abc", "Token a b", "Token x" + "y" * 2000])
def test_malformed_headers(header):
    with pytest.raises(Unauthorized):
        token_candidates(header)


def test_scheme_is_case_insensitive():
    assert token_candidates("token ZXhhbXBsZS10b2tlbg==")[0].sha256 == token_sha256("example-token")


def test_authenticate_by_hash_and_reject_raw_for_non_legacy():
    p = party("secret-1")
    lookup = lookup_for(p)
    cache = CredentialsCache(ttl_seconds=30)
    found, _ = authenticate({"authorization": encode_token("secret-1")}, lookup, cache)
    assert found == p
    with pytest.raises(Unauthorized):
        authenticate({"authorization": "Token secret-1"}, lookup, cache)


def test_legacy_party_raw_token():
    p = party("legacy-raw", legacy_token_encoding=True)
    found, _ = authenticate({"authorization": "Token legacy-raw"}, lookup_for(p), CredentialsCache(30))
    assert found == p


def test_disabled_party_is_refused():
    p = party("off", enabled=False)
    with pytest.raises(Unauthorized, match="disabled"):
        authenticate({"authorization": encode_token("off")}, lookup_for(p), CredentialsCache(30))


def test_lookups_are_cached_positive_and_negative():
    p = party("cached")
    lookup = lookup_for(p)
    cache = CredentialsCache(ttl_seconds=30, negative_ttl_seconds=30)
    for _ in range(5):
        authenticate({"authorization": encode_token("cached")}, lookup, cache)
        with pytest.raises(Unauthorized):
            authenticate({"authorization": encode_token("unknown")}, lookup, cache)
    assert len(lookup.calls) == 3  # cached, and the two candidates of the unknown token, once each


def test_cache_ttl_zero_means_no_cache():
    p = party("nocache")
    lookup = lookup_for(p)
    cache = CredentialsCache(ttl_seconds=0)
    for _ in range(3):
        authenticate({"authorization": encode_token("nocache")}, lookup, cache)
    assert len(lookup.calls) == 3


def test_cache_is_bounded():
    cache = CredentialsCache(ttl_seconds=30, max_entries=10)
    for i in range(50):
        cache.get(f"sha{i}", lambda sha: None)
    assert len(cache._entries) == 10


def test_a_hub_acts_only_for_the_clients_it_is_registered_for():
    """A hub without a client list acts for no one (it once could act for any party)."""
    bare = party("hub", ref=PartyRef(country_code="NL", party_id="HUB"), role=PartyRole.HUB)
    with pytest.raises(Unauthorized, match="BE\\*ABC"):
        identify_caller(
            bare,
            CredentialsStatus.REGISTERED,
            {"ocpi-from-country-code": "BE", "ocpi-from-party-id": "ABC"},
            functional_module=True,
        )
    hub = bare.model_copy(update={"hub_clients": ("BE*ABC",)})
    with pytest.raises(Unauthorized, match="DE\\*TNM"):
        identify_caller(
            hub,
            CredentialsStatus.REGISTERED,
            {"ocpi-from-country-code": "DE", "ocpi-from-party-id": "TNM"},
            functional_module=True,
        )


def test_a_platform_with_several_roles_names_the_one_acting():
    from ocpi_commands.domain.model import CredentialsRole

    platform = party(
        "multi",
        roles=(
            CredentialsRole(role="EMSP", country_code="DE", party_id="TNM"),
            CredentialsRole(role="EMSP", country_code="DE", party_id="TN2"),
        ),
    )
    headers = {"ocpi-from-country-code": "de", "ocpi-from-party-id": "tn2"}
    assert identify_caller(platform, CredentialsStatus.REGISTERED, headers, True).acting_as.key == "DE*TN2"
    assert identify_caller(platform, CredentialsStatus.REGISTERED, {}, True).acting_as.key == "DE*TNM"
    with pytest.raises(Unauthorized, match="FR\\*OTH"):
        identify_caller(
            platform,
            CredentialsStatus.REGISTERED,
            {"ocpi-from-country-code": "FR", "ocpi-from-party-id": "OTH"},
            True,
        )


def test_hub_caller_from_headers():
    hub = party("hub", ref=PartyRef(country_code="NL", party_id="HUB"), role=PartyRole.HUB, hub_clients=("BE*ABC",))
    caller = identify_caller(
        hub,
        CredentialsStatus.REGISTERED,
        {"ocpi-from-country-code": "BE", "ocpi-from-party-id": "ABC"},
        functional_module=True,
    )
    assert caller.acting_as.key == "BE*ABC" and caller.via_hub
    with pytest.raises(Unauthorized):
        identify_caller(hub, CredentialsStatus.REGISTERED, {}, functional_module=True)
    with pytest.raises(Unauthorized):
        identify_caller(
            hub,
            CredentialsStatus.REGISTERED,
            {"ocpi-from-country-code": "BEL", "ocpi-from-party-id": "ABC"},
            functional_module=True,
        )


def test_token_a_only_outside_functional_modules():
    p = party("a")
    with pytest.raises(Unauthorized, match="TOKEN_A"):
        identify_caller(p, CredentialsStatus.TOKEN_A, {}, functional_module=True)
    assert identify_caller(p, CredentialsStatus.TOKEN_A, {}, functional_module=False).acting_as == p.ref


def test_only_hashes_are_compared():
    raw = base64.b64encode(b"s3cr3t").decode()
    assert all(len(c.sha256) == 64 for c in token_candidates(f"Token {raw}"))
