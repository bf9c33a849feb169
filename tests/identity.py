"""An identity provider for tests: an RSA key made here, its JWKS and discovery document served over
real HTTP on a local port (http.server in a thread), tokens signed with PyJWT. Nothing of the API's
verifier is replaced: it fetches these keys over HTTP exactly as it would an issuer's.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "parcelcare-api"


class TestIssuer:
    __test__ = False  # not a test class

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:8]
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/jwks.json":
                    issuer.jwks_fetches += 1
                    body = issuer.jwks()
                elif self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.issuer, "jwks_uri": issuer.jwks_url}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks_url = f"{self.issuer}/jwks.json"
        self._thread = threading.Thread(target=self.server.serve_forever, name="test-issuer", daemon=True)
        self._thread.start()

    def jwks(self) -> dict:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def settings(self) -> dict[str, str]:
        """The API's settings for this issuer."""
        return {"oidc_issuer": self.issuer, "oidc_audience": AUDIENCE, "oidc_jwks_url": self.jwks_url}

    def env(self) -> dict[str, str]:
        return {f"PARCELCARE_{k.upper()}": v for k, v in self.settings().items()}

    def token(self, sub: str, roles=(), carriers=(), stations=(), expires_in: float = 600, audience: str = AUDIENCE,
              issuer: str | None = None, key=None, kid: str | None = None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": issuer or self.issuer, "aud": audience, "sub": sub, "iat": now, "exp": now + int(expires_in),
                   "roles": list(roles), "parcelcare_carriers": list(carriers), "parcelcare_stations": list(stations),
                   **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
