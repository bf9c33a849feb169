"""People: OpenID Connect bearer tokens (JWTs), verified with PyJWT against the issuer's JWKS.

A token is taken when its signature verifies with a key of the issuer's JWKS (fetched over HTTPS,
cached for five minutes, refetched when a token names a key id it has not seen, at most every
PARCELCARE_OIDC_JWKS_REFRESH_SECONDS: the issuer rotated), with an
algorithm of PARCELCARE_OIDC_ALGORITHMS (never `none`, never an HMAC a public key could forge), its
`iss` is PARCELCARE_OIDC_ISSUER, its `aud` holds PARCELCARE_OIDC_AUDIENCE, and it has not expired
(`exp`, with PARCELCARE_OIDC_LEEWAY_SECONDS for clocks apart). Anything else is refused with the
reason.

What the token says of its holder, each from a claim named in the settings:

- the actor: `user:` and the value of PARCELCARE_OIDC_ACTOR_CLAIM (`sub` by default: stable, and no
  name or e-mail address in the record);
- the roles: PARCELCARE_OIDC_ROLES_CLAIM, a list or a space-separated string, a dotted path for a
  nested claim (`realm_access.roles` in Keycloak); with PARCELCARE_OIDC_ROLE_PREFIX set
  (`parcelcare:`), only values with that prefix count, without it; values that are not one of our
  roles are ignored;
- the scopes: PARCELCARE_OIDC_CARRIERS_CLAIM and PARCELCARE_OIDC_STATIONS_CLAIM (lists or
  space-separated strings), for the client, station and station-head roles.
"""

from __future__ import annotations

import json
import urllib.request
from functools import cached_property
from typing import Any

import anyio
import jwt
from jwt import PyJWKClient

from security.access import Principal, Role
from security.keys import CredentialRefused
from settings import Settings

_JWKS_LIFESPAN_SECONDS = 300
_FETCH_TIMEOUT_SECONDS = 5
_SYMMETRIC = {"HS256", "HS384", "HS512", "none"}
_ROLES = frozenset(r.value for r in Role)


class IdentityProviderUnavailable(Exception):
    """The issuer's keys cannot be fetched: nobody's token can be verified now (a 503, not a 401)."""


class OidcVerifier:
    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or not settings.oidc_audience:
            raise ValueError("PARCELCARE_OIDC_ISSUER and PARCELCARE_OIDC_AUDIENCE are both needed for OIDC")
        unsafe = _SYMMETRIC & set(settings.oidc_algorithms)
        if unsafe:
            raise ValueError(f"PARCELCARE_OIDC_ALGORITHMS: {sorted(unsafe)} cannot be verified with an issuer's "
                             "public keys; use RS256, PS256, ES256 or EdDSA")
        self.settings = settings

    @cached_property
    def jwks_url(self) -> str:
        if self.settings.oidc_jwks_url:
            return self.settings.oidc_jwks_url
        discovery = self.settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(discovery, timeout=_FETCH_TIMEOUT_SECONDS) as answer:
                return json.load(answer)["jwks_uri"]
        except (OSError, ValueError, KeyError) as exc:
            raise IdentityProviderUnavailable(f"the issuer's discovery document cannot be read: "
                                              f"{type(exc).__name__}") from exc

    @cached_property
    def _keys(self) -> PyJWKClient:
        return PyJWKClient(self.jwks_url, cache_keys=True, lifespan=_JWKS_LIFESPAN_SECONDS,
                           timeout=_FETCH_TIMEOUT_SECONDS, cooldown_duration=self.settings.oidc_jwks_refresh_seconds)

    async def principal(self, token: str) -> Principal:
        """The person the token stands for; CredentialRefused with the reason, or IdentityProviderUnavailable."""
        claims = await anyio.to_thread.run_sync(self.claims, token)  # the JWKS fetch is blocking I/O
        return self.principal_of(claims)

    def claims(self, token: str) -> dict[str, Any]:
        s = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise CredentialRefused("the bearer token is neither an API key of this API nor a JWT") from None
        if header.get("alg") not in s.oidc_algorithms:
            raise CredentialRefused(f"the token is signed with {header.get('alg')!r}; this API takes "
                                    f"{', '.join(s.oidc_algorithms)}")
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise IdentityProviderUnavailable("the issuer's keys (JWKS) cannot be fetched") from exc
        except (jwt.PyJWKClientError, jwt.DecodeError):
            raise CredentialRefused("the token is signed with a key the issuer does not publish") from None
        try:
            return jwt.decode(token, key.key, algorithms=s.oidc_algorithms, audience=s.oidc_audience,
                              issuer=s.oidc_issuer, leeway=s.oidc_leeway_seconds,
                              options={"require": ["exp", "iss", "aud", s.oidc_actor_claim]})
        except jwt.ExpiredSignatureError:
            raise CredentialRefused("the token has expired: get a new one from the identity provider") from None
        except jwt.InvalidAudienceError:
            raise CredentialRefused(f"the token is not for this API: its audience is not {s.oidc_audience}") from None
        except jwt.InvalidIssuerError:
            raise CredentialRefused(f"the token was not issued by {s.oidc_issuer}") from None
        except jwt.ImmatureSignatureError:
            raise CredentialRefused("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise CredentialRefused(f"the token has no {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise CredentialRefused("the token's signature does not verify") from None
        except jwt.InvalidTokenError as exc:
            raise CredentialRefused(f"the token is not valid: {type(exc).__name__}") from None

    def principal_of(self, claims: dict[str, Any]) -> Principal:
        s = self.settings
        subject = str(claims.get(s.oidc_actor_claim) or "")
        if not subject or len(subject) > 190:
            raise CredentialRefused(f"the token's {s.oidc_actor_claim!r} claim does not name its holder")
        roles = set()
        for value in _strings(_claim(claims, s.oidc_roles_claim)):
            if s.oidc_role_prefix:
                if not value.startswith(s.oidc_role_prefix):
                    continue
                value = value[len(s.oidc_role_prefix):]
            if value in _ROLES:
                roles.add(Role(value))
        return Principal(actor=f"user:{subject}", via="oidc", roles=frozenset(roles),
                         carriers=frozenset(_strings(_claim(claims, s.oidc_carriers_claim))),
                         stations=frozenset(_strings(_claim(claims, s.oidc_stations_claim))))


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
