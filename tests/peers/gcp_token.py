#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Our Google OAuth 2.0 token endpoint (and a GCE metadata server) for the gcp provider tests.

POST /token (HTTPS) takes the JWT bearer grant of a service-account key (RFC 7523), as
oauth2.googleapis.com does: grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT.
The assertion is checked the way Google checks it, with Google's error answers:
  - header alg RS256; kid, when present, names one of the account's registered keys;
  - claims: iss is a registered service account (not disabled), aud is Google's token URL
    (https://oauth2.googleapis.com/token, as documented) or this endpoint's own URL, scope
    includes https://www.googleapis.com/auth/cloudkms (or cloud-platform), iat not in the future
    and exp after now, exp - iat at most one hour;
  - the signature verifies with the public key the test registered for the account.
It answers {"access_token", "expires_in", "token_type": "Bearer"}; the access token is a JWT
signed with this endpoint's own key, whose public half it writes to --public-key-out so the KMS
peer (gcp_kms.py) can check the tokens it is shown.

GET /computeMetadata/v1/instance/service-accounts/default/token?scopes=... (HTTP,
--metadata-port) needs "Metadata-Flavor: Google", as the real metadata server does, and answers
a token for --metadata-account.

Every request is appended to --log as one JSON line (service, method, path, status).

usage: gcp_token.py --port P --tls-cert C --tls-key K --accounts ACCOUNTS.json
                    --public-key-out PUB.pem --log FILE [--metadata-port M --metadata-account E]
ACCOUNTS.json: [{"client_email": E, "keys": {KEY_ID: PUBLIC_KEY_PEM}, "disabled": false}]
"""
import argparse
import base64
import json
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SCOPES_OK = ("https://www.googleapis.com/auth/cloudkms",
             "https://www.googleapis.com/auth/cloud-platform")
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
LOG_LOCK = threading.Lock()
ARGS = None
ACCOUNTS = {}


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def log(service, method, path, status):
    with LOG_LOCK, open(ARGS.log, "a") as f:
        f.write(json.dumps({"service": service, "method": method, "path": path.split("?", 1)[0],
                            "status": status, "time": time.time()}) + "\n")


def access_token(email, scope, life):
    now = int(time.time())
    claims = {"sub": email, "scope": scope, "iat": now, "exp": now + life}
    signing = b64u(b'{"alg":"RS256","typ":"JWT"}') + "." + b64u(json.dumps(claims).encode())
    return signing + "." + b64u(SIGNING_KEY.sign(signing.encode(), padding.PKCS1v15(),
                                                 hashes.SHA256()))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    service = "?"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj, ctype="application/json; charset=utf-8"):
        data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # logged before the answer goes out: a client that reads the log right after its
        # call returns must find this request in it
        log(self.service, self.command, self.path, status)
        self.wfile.write(data)


class Token(Handler):
    service = "token"

    def grant_error(self, desc, error="invalid_grant"):
        self.send(400, {"error": error, "error_description": desc})

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/token":
            return self.send(404, {"error": "not_found"})
        n = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode(), keep_blank_values=True))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self.grant_error("Invalid grant_type: %s" % form.get("grant_type"),
                                    "unsupported_grant_type")
        parts = form.get("assertion", "").split(".")
        try:
            header = json.loads(b64u_dec(parts[0]))
            claims = json.loads(b64u_dec(parts[1]))
            sig = b64u_dec(parts[2])
        except Exception:
            return self.grant_error("Invalid JWT: the assertion is not a JWT.")
        account = ACCOUNTS.get(claims.get("iss"))
        if account is None:
            return self.grant_error("Invalid grant: account not found")
        if account.get("disabled"):
            return self.grant_error("Invalid grant: account disabled")
        if header.get("alg") != "RS256":
            return self.grant_error("Invalid JWT: algorithm must be RS256.")
        keys = account["keys"]
        if header.get("kid") is not None:
            keys = {header["kid"]: keys[header["kid"]]} if header["kid"] in keys else {}
        signed = (parts[0] + "." + parts[1]).encode()
        ok = False
        for pem in keys.values():
            pub = serialization.load_pem_public_key(pem.encode())
            try:
                pub.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
                ok = True
                break
            except InvalidSignature:
                pass
        if not ok:
            return self.grant_error("Invalid JWT Signature.")
        # Google documents aud as always https://oauth2.googleapis.com/token, and google-auth
        # sends exactly that even when token_uri points elsewhere (a private endpoint, this peer).
        if claims.get("aud") != GOOGLE_TOKEN_URI:
            return self.grant_error("Invalid JWT: Failed audience check. The expected audience "
                                    "is %s." % GOOGLE_TOKEN_URI)
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or iat > now + 60 or \
                exp < now or exp - iat > 3600:
            return self.grant_error("Invalid JWT: Token must be a short-lived token (60 minutes) "
                                    "and in a reasonable timeframe. Check your iat and exp values "
                                    "in the JWT claim.")
        scope = claims.get("scope", "")
        if not any(s in scope.split() for s in SCOPES_OK):
            return self.grant_error("Invalid OAuth scope or ID token audience provided.",
                                    "invalid_scope")
        self.send(200, {"access_token": access_token(claims["iss"], scope, 3599),
                        "expires_in": 3599, "token_type": "Bearer"})


class Metadata(Handler):
    service = "metadata"

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if self.headers.get("Metadata-Flavor") != "Google":
            return self.send(403, b"Missing required header: Metadata-Flavor", "text/html")
        if u.path != "/computeMetadata/v1/instance/service-accounts/default/token":
            return self.send(404, b"Not found", "text/html")
        scope = dict(urllib.parse.parse_qsl(u.query)).get("scopes", SCOPES_OK[1])
        self.send(200, {"access_token": access_token(ARGS.metadata_account, scope, 3599),
                        "expires_in": 3599, "token_type": "Bearer"})


def main():
    global ARGS, ACCOUNTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-cert", required=True)
    ap.add_argument("--tls-key", required=True)
    ap.add_argument("--accounts", required=True)
    ap.add_argument("--public-key-out", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--metadata-port", type=int)
    ap.add_argument("--metadata-account")
    ARGS = ap.parse_args()
    ACCOUNTS = {a["client_email"]: a for a in json.load(open(ARGS.accounts))}
    with open(ARGS.public_key_out, "wb") as f:
        f.write(SIGNING_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    if ARGS.metadata_port:
        md = ThreadingHTTPServer(("127.0.0.1", ARGS.metadata_port), Metadata)
        md.daemon_threads = True
        threading.Thread(target=md.serve_forever, daemon=True).start()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Token)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    sys.stderr.write("gcp token endpoint on %d, metadata on %s\n" % (ARGS.port, ARGS.metadata_port))
    srv.serve_forever()


if __name__ == "__main__":
    main()
