#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small, faithful stand-in for Azure Key Vault (REST API 7.4, the key operations wtkms and
its tests use) and Entra ID (client-credentials tokens, managed-identity endpoints).

Why ours: the Go emulators DESIGN.md names (calvinchengx/azure-keyvault-emulator and
entra-emulator) are refused by the Go module proxy here (403 "This module version is not
available", every version), and Lowkey Vault's app jar is not on Maven Central. This peer follows
the documented wire behaviour of the real services, and checks what a real service checks:

Entra ID (HTTPS, --login-port): POST /{tenant}/oauth2/v2.0/token, grant_type=client_credentials,
  scope=<resource>/.default, and either client_secret (compared by SHA-256 with the registered
  one) or a client assertion: an RS256 JWT whose x5t header names a registered certificate, whose
  signature verifies with that certificate's key, with aud = this token endpoint's URL,
  iss = sub = client_id, a jti, and exp/nbf around now (an assertion may be sent again while
  valid: MSAL reuses one for minutes, and Entra ID accepts that). Errors are Entra's:
  {"error": "invalid_client", "error_description": "AADSTS7000215: ..."}. Also the OpenID
  discovery document, GET /{tenant}/v2.0/.well-known/openid-configuration, which MSAL reads.
Managed identity (HTTP, --identity-port): the instance metadata service,
  GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R with "Metadata: true"
  (expires_in as a string, as IMDS sends it), and App Service's
  GET /msi/token?api-version=2019-08-01&resource=R with X-IDENTITY-HEADER (expires_on only).
Key Vault (HTTPS, --vault-port): every request needs api-version=7.4 and a bearer token this peer
  issued (RS256, verified: signature, aud = https://vault.azure.net, exp); a missing or bad token
  answers 401 with the WWW-Authenticate challenge. RBAC: a principal needs the role the operation
  requires ("crypto" for get/wrapKey/unwrapKey, "admin" for create/update/delete), else 403
  ForbiddenByRbac. Keys are RSA; wrapkey/unwrapkey take RSA-OAEP-256 (also RSA-OAEP, RSA1_5) on
  base64url values. A disabled key version answers 403 with innererror KeyDisabled; a missing key
  404 KeyNotFound; a ciphertext that does not decrypt 400 BadParameter.
  Admin operations use the real API shapes: POST /keys/{name}/create, PATCH
  /keys/{name}/{version} {"attributes": {"enabled": false}}, DELETE /keys/{name}.
Every request is appended to --log as one JSON line (service, method, path, status) so tests count
calls at the peer. GET /_stats on the vault port sums them.

usage: azure_peer.py --config CONF.json --tls-cert C --tls-key K --vault-port V --login-port L
                     --identity-port I --log FILE [--vault-plain]
CONF.json: {"tenant": T, "apps": [{"client_id", "secret_sha256"?, "cert_pem"?, "object_id",
           "roles": [...]}], "managed_identity": {"client_id", "object_id", "roles",
           "identity_header"}}
"""
import argparse
import base64
import hashlib
import json
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

VAULT_RESOURCE = "https://vault.azure.net"
LOCK = threading.Lock()      # keys
LOG_LOCK = threading.Lock()  # the request log (answers are sent while LOCK is held)
CONF = {}
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEYS = {}  # name -> {"versions": {ver: {"key": RSAPrivateKey, "enabled": bool}}, "current": ver}
STATS = {}
ARGS = None


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def log(service, method, path, status):
    path = path.split("?", 1)[0]
    with LOG_LOCK:
        key = "%s %s %s" % (service, method, path)
        STATS[key] = STATS.get(key, 0) + 1
        with open(ARGS.log, "a") as f:
            f.write(json.dumps({"service": service, "method": method, "path": path,
                                "status": status, "time": time.time()}) + "\n")


def jwt_sign(claims):
    header = {"alg": "RS256", "typ": "JWT", "kid": "wtkms-test"}
    signing = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    sig = SIGNING_KEY.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing + "." + b64u(sig)


def jwt_parse(token):
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    header = json.loads(b64u_dec(parts[0]))
    claims = json.loads(b64u_dec(parts[1]))
    return header, claims, (parts[0] + "." + parts[1]).encode(), b64u_dec(parts[2])


def issue(principal, resource, lifetime=3600):
    now = int(time.time())
    return jwt_sign({"aud": resource, "iss": "https://sts.windows.net/%s/" % CONF["tenant"],
                     "tid": CONF["tenant"], "oid": principal["object_id"],
                     "appid": principal["client_id"], "iat": now, "nbf": now,
                     "exp": now + lifetime}), lifetime


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    service = "?"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, obj, headers=None):
        data = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        # logged before the answer goes out: a client that reads the log right after its
        # call returns must find this request in it
        log(self.service, self.command, self.path, status)
        self.wfile.write(data)


# --- Entra ID -------------------------------------------------------------------------------

class Login(Handler):
    service = "login"

    def err(self, status, error, desc):
        self.send(status, {"error": error, "error_description": desc,
                           "error_codes": [int(desc[6:desc.index(":")])] if desc.startswith("AADSTS") else [],
                           "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())})

    def do_GET(self):
        # OpenID Connect discovery, as Entra ID serves it: MSAL (so azure-identity) reads the
        # token endpoint from this document before its first token request.
        parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
        if len(parts) != 4 or parts[1:] != ["v2.0", ".well-known", "openid-configuration"]:
            return self.err(404, "invalid_request", "AADSTS900561: The endpoint only accepts "
                            "POST requests to /{tenant}/oauth2/v2.0/token.")
        if parts[0] != CONF["tenant"]:
            return self.err(400, "invalid_tenant", "AADSTS90002: Tenant '%s' not found." % parts[0])
        base = "https://127.0.0.1:%d/%s" % (ARGS.login_port, CONF["tenant"])
        self.send(200, {"token_endpoint": base + "/oauth2/v2.0/token",
                        "token_endpoint_auth_methods_supported": [
                            "client_secret_post", "private_key_jwt", "client_secret_basic"],
                        "jwks_uri": base + "/discovery/v2.0/keys",
                        "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                        "issuer": base + "/v2.0",
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "response_types_supported": ["code", "id_token", "code id_token",
                                                     "id_token token"],
                        "subject_types_supported": ["pairwise"],
                        "scopes_supported": ["openid", "profile", "email", "offline_access"]})

    def do_POST(self):
        parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
        form = dict(urllib.parse.parse_qsl(self.body().decode(), keep_blank_values=True))
        if len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "token"]:
            return self.err(404, "invalid_request", "AADSTS900561: The endpoint only accepts POST "
                            "requests to /{tenant}/oauth2/v2.0/token.")
        if parts[0] != CONF["tenant"]:
            return self.err(400, "invalid_request", "AADSTS90002: Tenant '%s' not found." % parts[0])
        if form.get("grant_type") != "client_credentials":
            return self.err(400, "unsupported_grant_type",
                            "AADSTS70003: The app requested an unsupported grant type.")
        app = next((a for a in CONF["apps"] if a["client_id"] == form.get("client_id")), None)
        if app is None:
            return self.err(400, "unauthorized_client", "AADSTS700016: Application with "
                            "identifier '%s' was not found in the directory." % form.get("client_id"))
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return self.err(400, "invalid_scope", "AADSTS1002012: The provided value for scope "
                            "%s is not valid. Client credential flows must have a scope value "
                            "with /.default suffixed to the resource identifier." % scope)
        resource = scope[:-len("/.default")]
        if "client_secret" in form:
            if hashlib.sha256(form["client_secret"].encode()).hexdigest() != app.get("secret_sha256"):
                return self.err(401, "invalid_client", "AADSTS7000215: Invalid client secret "
                                "provided. Ensure the secret being sent in the request is the "
                                "client secret value, not the client secret ID.")
        elif form.get("client_assertion_type") == \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            why = self.check_assertion(app, form.get("client_assertion", ""))
            if why:
                return self.err(401, "invalid_client", why)
        else:
            return self.err(401, "invalid_client", "AADSTS7000218: The request body must contain "
                            "the following parameter: 'client_assertion' or 'client_secret'.")
        token, life = issue(app, resource)
        self.send(200, {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life,
                        "access_token": token})

    def check_assertion(self, app, assertion):
        try:
            header, claims, signed, sig = jwt_parse(assertion)
        except Exception:
            return "AADSTS50027: JWT token is invalid or malformed."
        cert = x509.load_pem_x509_certificate(app.get("cert_pem", "").encode()) \
            if app.get("cert_pem") else None
        if cert is None:
            return "AADSTS700027: The certificate with identifier used to sign the client " \
                   "assertion is not registered on application."
        x5t = b64u(cert.fingerprint(hashes.SHA1()))
        # MSAL pads its x5t with '=' (RFC 7515 base64url has none); Entra ID takes both.
        if header.get("alg") != "RS256" or str(header.get("x5t")).rstrip("=") != x5t:
            return "AADSTS700027: The certificate with identifier used to sign the client " \
                   "assertion is not registered on application. [Reason - The key was not " \
                   "found., Thumbprint of key used by client: '%s']" % header.get("x5t")
        try:
            cert.public_key().verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "AADSTS700027: Client assertion contains an invalid signature."
        aud = "https://127.0.0.1:%d/%s/oauth2/v2.0/token" % (ARGS.login_port, CONF["tenant"])
        now = time.time()
        if claims.get("aud") != aud:
            return "AADSTS700016: The audience '%s' is not the token endpoint." % claims.get("aud")
        if claims.get("iss") != app["client_id"] or claims.get("sub") != app["client_id"]:
            return "AADSTS700021: Client assertion application identifier doesn't match " \
                   "'client_id' parameter."
        # exp and nbf are NumericDates (RFC 7519: non-integer values allowed; MSAL sends them).
        num = (int, float)
        if not isinstance(claims.get("exp"), num) or isinstance(claims["exp"], bool) or \
                claims["exp"] < now - 300:
            return "AADSTS700024: Client assertion is not within its valid time range."
        if isinstance(claims.get("nbf"), num) and claims["nbf"] > now + 300:
            return "AADSTS700024: Client assertion is not within its valid time range."
        if not claims.get("jti"):
            return "AADSTS50027: JWT token is invalid or malformed: the 'jti' claim is missing."
        return None


# --- managed identity ------------------------------------------------------------------------

class Identity(Handler):
    service = "identity"

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        mi = CONF.get("managed_identity")
        if mi is None:
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "Identity not found"})
        if q.get("client_id") and q["client_id"] != mi["client_id"]:
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "Identity not found"})
        resource = q.get("resource", "")
        if u.path == "/metadata/identity/oauth2/token":
            if self.headers.get("Metadata") != "true":
                return self.send(400, {"error": "invalid_request",
                                       "error_description": "Required metadata header not specified"})
            if q.get("api-version") != "2018-02-01":
                return self.send(400, {"error": "invalid_request",
                                       "error_description": "Invalid api-version"})
            token, life = issue(mi, resource)
            now = int(time.time())
            return self.send(200, {"access_token": token, "client_id": mi["client_id"],
                                   "expires_in": str(life), "expires_on": str(now + life),
                                   "ext_expires_in": str(life), "not_before": str(now),
                                   "resource": resource, "token_type": "Bearer"})
        if u.path == "/msi/token":
            if self.headers.get("X-IDENTITY-HEADER") != mi.get("identity_header"):
                return self.send(401, {"statusCode": 401, "message": "Unauthorized"})
            token, life = issue(mi, resource)
            return self.send(200, {"access_token": token, "expires_on": str(int(time.time()) + life),
                                   "resource": resource, "token_type": "Bearer",
                                   "client_id": mi["client_id"]})
        return self.send(404, {"error": "not_found"})


# --- Key Vault -------------------------------------------------------------------------------

def principal_roles(oid):
    for p in CONF["apps"] + ([CONF["managed_identity"]] if CONF.get("managed_identity") else []):
        if p["object_id"] == oid:
            return set(p.get("roles", []))
    return set()


def public_jwk(name, version, k):
    pub = k["key"].public_key().public_numbers()
    n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
    return {"key": {"kid": "%s/keys/%s/%s" % (vault_url(), name, version), "kty": "RSA",
                    "key_ops": ["wrapKey", "unwrapKey", "encrypt", "decrypt"],
                    "n": b64u(n), "e": b64u(pub.e.to_bytes(3, "big"))},
            "attributes": {"enabled": k["enabled"], "created": k["created"],
                           "updated": int(time.time()), "recoveryLevel": "Recoverable+Purgeable"}}


def vault_url():
    return "https://127.0.0.1:%d" % ARGS.vault_port


class Vault(Handler):
    service = "vault"

    def error(self, status, code, message, inner=None, headers=None):
        e = {"code": code, "message": message}
        if inner:
            e["innererror"] = {"code": inner}
        self.send(status, {"error": e}, headers)

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        # Read the body before any answer: an error sent with it unread would leave it on a
        # kept-alive connection, to be parsed as the client's next request.
        body = self.body()
        if u.path == "/_stats":
            with LOG_LOCK:
                stats = dict(STATS)
            return self.send(200, stats)
        q = dict(urllib.parse.parse_qsl(u.query))
        if q.get("api-version") != "7.4":
            return self.error(400, "BadParameter", "The specified version (%s) is not recognized. "
                              "Consider using the latest supported version (7.4)."
                              % q.get("api-version"))
        auth = self.headers.get("Authorization", "")
        challenge = {"WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/'
                     '%s", resource="%s"' % (CONF["tenant"], VAULT_RESOURCE)}
        if not auth.startswith("Bearer "):
            return self.error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP "
                              "token.", headers=challenge)
        try:
            _, claims, signed, sig = jwt_parse(auth[7:])
            SIGNING_KEY.public_key().verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return self.error(401, "Unauthorized", "AKV10032: Invalid issuer or signature.",
                              headers=challenge)
        if claims.get("aud") != VAULT_RESOURCE:
            return self.error(401, "Unauthorized", "AKV10022: Invalid audience. Expected %s, "
                              "found: %s." % (VAULT_RESOURCE, claims.get("aud")), headers=challenge)
        if claims.get("exp", 0) < time.time():
            return self.error(401, "Unauthorized", "AKV10016: Token is expired.", headers=challenge)
        roles = principal_roles(claims.get("oid"))
        parts = u.path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "keys":
            return self.error(404, "NotFound", "Unknown path %s" % u.path)
        name = parts[1]
        rest = parts[2:]
        op = {("POST", 1): "create", ("DELETE", 0): "delete", ("GET", 0): "get", ("GET", 1): "get",
              ("PATCH", 1): "update", ("POST", 2): rest[-1] if rest else None}.get(
                  (self.command, len(rest)))
        if op == "create" and rest != ["create"]:
            op = None
        if op not in ("create", "delete", "get", "update", "wrapkey", "unwrapkey"):
            return self.error(405, "BadParameter", "Method or path not supported")
        need = "admin" if op in ("create", "delete", "update") else "crypto"
        action = {"create": "keys/create", "delete": "keys/delete", "get": "keys/read",
                  "update": "keys/update", "wrapkey": "keys/wrap/action",
                  "unwrapkey": "keys/unwrap/action"}[op]
        if need not in roles and "admin" not in roles:
            return self.error(403, "Forbidden", "Caller is not authorized to perform action on "
                              "resource. Caller: appid=%s;oid=%s Action: "
                              "'Microsoft.KeyVault/vaults/%s' Resource: '/keys/%s'"
                              % (claims.get("appid"), claims.get("oid"), action, name),
                              "ForbiddenByRbac")
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            return self.error(400, "BadParameter", "The request body is not valid JSON.")
        with LOCK:
            if op == "create":
                if req.get("kty") not in ("RSA", "RSA-HSM"):
                    return self.error(400, "BadParameter", "Key type must be RSA or RSA-HSM.")
                key = rsa.generate_private_key(public_exponent=65537,
                                               key_size=int(req.get("key_size", 2048)))
                version = uuid.uuid4().hex
                entry = KEYS.setdefault(name, {"versions": {}, "current": None})
                entry["versions"][version] = {"key": key, "enabled": True,
                                              "created": int(time.time())}
                entry["current"] = version
                return self.send(200, public_jwk(name, version, entry["versions"][version]))
            entry = KEYS.get(name)
            version = rest[0] if rest and rest[0] not in ("create",) else None
            if entry is None or (version is not None and version not in entry["versions"]):
                return self.error(404, "KeyNotFound", "A key with (name/id) %s%s was not found in "
                                  "this key vault. If you recently deleted this key you may be "
                                  "able to recover it using the correct recovery command."
                                  % (name, "/" + version if version else ""))
            if op == "delete":
                del KEYS[name]
                return self.send(200, {"kid": "%s/keys/%s" % (vault_url(), name)})
            version = version or entry["current"]
            k = entry["versions"][version]
            if op == "get":
                return self.send(200, public_jwk(name, version, k))
            if op == "update":
                if "enabled" in req.get("attributes", {}):
                    k["enabled"] = bool(req["attributes"]["enabled"])
                return self.send(200, public_jwk(name, version, k))
            if not k["enabled"]:
                return self.error(403, "Forbidden", "Operation %s is not allowed on a disabled "
                                  "key." % {"wrapkey": "wrapKey", "unwrapkey": "unwrapKey"}[op],
                                  "KeyDisabled")
        alg = req.get("alg")
        pads = {"RSA-OAEP-256": padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
                "RSA-OAEP": padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
                "RSA1_5": padding.PKCS1v15()}
        if alg not in pads or not isinstance(req.get("value"), str):
            return self.error(400, "BadParameter", "Property 'alg' must be one of RSA-OAEP-256, "
                              "RSA-OAEP, RSA1_5 and 'value' must be a base64url string.")
        try:
            value = b64u_dec(req["value"])
        except Exception:
            return self.error(400, "BadParameter", "Property 'value' is not valid base64url.")
        try:
            if op == "wrapkey":
                out = k["key"].public_key().encrypt(value, pads[alg])
            else:
                out = k["key"].decrypt(value, pads[alg])
        except Exception:
            return self.error(400, "BadParameter", "Unable to %s: the value is not valid for "
                              "this key." % ("wrap" if op == "wrapkey" else "unwrap"))
        self.send(200, {"kid": "%s/keys/%s/%s" % (vault_url(), name, version), "value": b64u(out)})

    do_GET = do_POST = do_PATCH = do_DELETE = route


def serve(handler, port, tls):
    srv = ThreadingHTTPServer(("127.0.0.1", port), handler)
    srv.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    global ARGS, CONF
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--tls-cert", required=True)
    ap.add_argument("--tls-key", required=True)
    ap.add_argument("--vault-port", type=int, required=True)
    ap.add_argument("--login-port", type=int, required=True)
    ap.add_argument("--identity-port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--vault-plain", action="store_true",
                    help="serve the vault over plain HTTP (behind the tests' TLS fault proxy)")
    ARGS = ap.parse_args()
    CONF = json.load(open(ARGS.config))
    serve(Login, ARGS.login_port, True)
    serve(Identity, ARGS.identity_port, False)
    # The vault last: the tests wait for its port, so everything else listens by then.
    serve(Vault, ARGS.vault_port, not ARGS.vault_plain)
    sys.stderr.write("azure peer: vault %d, login %d, identity %d\n"
                     % (ARGS.vault_port, ARGS.login_port, ARGS.identity_port))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
