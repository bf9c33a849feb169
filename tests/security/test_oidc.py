"""People's tokens (issue 12): verified with PyJWT against a JWKS served over real HTTP by a test issuer
(tests/identity.py): issuer, audience, expiry, signature, algorithm; roles and scopes from named claims."""

from __future__ import annotations

import base64
import json
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from security.access import Role
from security.keys import CredentialRefused
from security.oidc import IdentityProviderUnavailable, OidcVerifier
from settings import Settings, temporal_tls
from tests.identity import AUDIENCE, TestIssuer


def verifier(issuer, **overrides) -> OidcVerifier:
    return OidcVerifier(Settings(**{**issuer.settings(), **overrides}))


async def test_a_good_token_is_its_holder_with_roles_and_scopes(issuer):
    token = issuer.token("u-123", roles=["agent", "station_head", "not-ours"], stations=["SH-PD-01"],
                         carriers=["best"])
    person = await verifier(issuer).principal(token)
    assert person.actor == "user:u-123" and person.via == "oidc"
    assert person.roles == {Role.AGENT, Role.STATION_HEAD}
    assert person.stations == {"SH-PD-01"} and person.carriers == {"best"}


async def test_the_jwks_is_found_through_the_discovery_document_and_cached(issuer):
    found = verifier(issuer, oidc_jwks_url="")
    assert found.jwks_url == issuer.jwks_url
    fetches = issuer.jwks_fetches
    for n in range(3):
        await found.principal(issuer.token(f"u-{n}", roles=["ops"]))
    assert issuer.jwks_fetches == fetches + 1


async def test_a_rotated_key_is_fetched_when_a_token_names_it():
    issuer = TestIssuer()
    try:
        v = verifier(issuer, oidc_jwks_refresh_seconds=0)
        await v.principal(issuer.token("before", roles=["ops"]))
        issuer.key, issuer.kid = rsa.generate_private_key(public_exponent=65537, key_size=2048), uuid.uuid4().hex[:8]
        assert (await v.principal(issuer.token("after", roles=["ops"]))).actor == "user:after"
    finally:
        issuer.close()


@pytest.mark.parametrize("case, says", [
    ("expired", "expired"), ("audience", "not for this API"), ("issuer", "not issued by"),
    ("signature", "signature"), ("not yet", "not valid yet"), ("no subject", "'sub'"),
])
async def test_a_bad_token_is_refused_with_its_reason(issuer, case, says):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "expired": lambda: issuer.token("u", roles=["ops"], expires_in=-120),
        "audience": lambda: issuer.token("u", roles=["ops"], audience="another-api"),
        "issuer": lambda: issuer.token("u", roles=["ops"], issuer="https://idp.elsewhere.example"),
        "signature": lambda: issuer.token("u", roles=["ops"], key=other),
        "not yet": lambda: issuer.token("u", roles=["ops"], nbf=2**31),
        "no subject": lambda: jwt.encode({"iss": issuer.issuer, "aud": AUDIENCE, "exp": 2**31}, issuer.key,
                                         algorithm="RS256", headers={"kid": issuer.kid}),
    }[case]()
    with pytest.raises(CredentialRefused, match=says):
        await verifier(issuer).principal(token)


async def test_unsigned_and_hmac_tokens_are_refused(issuer):
    """alg=none, and the old trick of an HMAC keyed with the issuer's public key."""
    claims = {"iss": issuer.issuer, "aud": AUDIENCE, "sub": "mallory", "exp": 2**31, "roles": ["admin"]}
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": issuer.kid}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    unsigned = f"{header.decode()}.{body.decode()}."
    public_pem = issuer.jwks()["keys"][0]["n"].encode()
    hmac_signed = jwt.encode(claims, public_pem, algorithm="HS256", headers={"kid": issuer.kid})
    for token in (unsigned, hmac_signed):
        with pytest.raises(CredentialRefused, match="signed with"):
            await verifier(issuer).principal(token)


def test_a_verifier_that_could_be_fooled_does_not_start(issuer):
    with pytest.raises(ValueError, match="RS256"):
        verifier(issuer, oidc_algorithms=["RS256", "HS256"])
    with pytest.raises(ValueError, match="AUDIENCE"):
        verifier(issuer, oidc_audience="")


async def test_roles_from_a_nested_claim_with_a_prefix(issuer):
    token = issuer.token("kc-user", realm_access={"roles": ["parcelcare:claims", "claims", "offline_access"]})
    person = await verifier(issuer, oidc_roles_claim="realm_access.roles",
                            oidc_role_prefix="parcelcare:").principal(token)
    assert person.roles == {Role.CLAIMS}
    spaced = issuer.token("scoped", scope="openid parcelcare:ops")
    assert (await verifier(issuer, oidc_roles_claim="scope", oidc_role_prefix="parcelcare:")
            .principal(spaced)).roles == {Role.OPS}


async def test_an_unreachable_issuer_is_an_outage_not_a_refusal(issuer):
    down = OidcVerifier(Settings(**{**issuer.settings(), "oidc_jwks_url": "http://127.0.0.1:1/jwks.json"}))
    with pytest.raises(IdentityProviderUnavailable):
        await down.principal(issuer.token("u", roles=["ops"]))


def test_mutual_tls_to_temporal_from_the_settings(tmp_path):
    """Production: the worker and the API present a client certificate to Temporal's frontend."""
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_bytes(f"-----{name}-----".encode())
    assert temporal_tls(Settings()) is False  # the dev server of `make run`: plain gRPC on loopback
    tls = temporal_tls(Settings(temporal_tls_ca=tmp_path / "ca.pem", temporal_tls_cert=tmp_path / "client.pem",
                                temporal_tls_key=tmp_path / "client.key", temporal_tls_server_name="temporal"))
    assert tls.server_root_ca_cert == b"-----ca.pem-----" and tls.client_cert == b"-----client.pem-----"
    assert tls.client_private_key == b"-----client.key-----" and tls.domain == "temporal"
    with pytest.raises(ValueError, match="go together"):
        temporal_tls(Settings(temporal_tls_cert=tmp_path / "client.pem"))
