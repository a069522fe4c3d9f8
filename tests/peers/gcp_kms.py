#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small, faithful stand-in for Google Cloud KMS's REST API (v1): symmetric keys, their
versions and states, encrypt and decrypt.

Why ours: the emulator DESIGN.md names (blackwell-systems/gcp-kms-emulator, cmd/server-rest) is
refused by the Go module proxy here (403 "This module version is not available", every version).
This peer follows the documented API: resource names, JSON field names, base64 payloads, the
error body {"error": {"code", "message", "status"}} and the statuses Cloud KMS uses:
  - no or bad bearer token: 401 UNAUTHENTICATED (tokens are those gcp_token.py issued: RS256,
    verified with --token-public-key, not expired, with a cloudkms or cloud-platform scope);
  - a principal without the permission: 403 PERMISSION_DENIED "Permission
    'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource ... (or it may not exist)."
    (--iam: {"principal": ["useToEncrypt", "useToDecrypt", "admin"]});
  - a missing key: 404 NOT_FOUND;
  - a version that is not ENABLED: 400 FAILED_PRECONDITION "NAME is not enabled, current state
    is: DISABLED." (also DESTROY_SCHEDULED, DESTROYED);
  - a ciphertext that does not decrypt (or another AAD): 400 INVALID_ARGUMENT "Decryption failed:
    the ciphertext is invalid.".
Encrypt uses the primary version and names it; the ciphertext carries its version (AES-256-GCM
under that version's key). Admin calls, also the real API's shapes: POST .../cryptoKeys?
cryptoKeyId=K (key ring made as needed), POST .../cryptoKeys/K/cryptoKeyVersions,
POST .../cryptoKeys/K:updatePrimaryVersion, PATCH .../cryptoKeyVersions/N?updateMask=state,
POST .../cryptoKeyVersions/N:destroy and :restore.

Every request is appended to --log as one JSON line (service, method, path, status).

usage: gcp_kms.py --port P (--tls-cert C --tls-key K | --plain) --token-public-key PUB.pem
                  --iam IAM.json --log FILE
"""
import argparse
import base64
import json
import os
import re
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LOCK = threading.Lock()
LOG_LOCK = threading.Lock()
KEYS = {}  # key name -> {"versions": {n: {"state", "key"}}, "primary": n, "next": n}
ARGS = None
IAM = {}
TOKEN_KEY = None
KEY_RE = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/:]+$")


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def log(method, path, status):
    with LOG_LOCK, open(ARGS.log, "a") as f:
        f.write(json.dumps({"service": "kms", "method": method, "path": path.split("?", 1)[0],
                            "status": status, "time": time.time()}) + "\n")


class Kms(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # logged before the answer goes out: a client that reads the log right after its
        # call returns must find this request in it
        log(self.command, self.path, status)
        self.wfile.write(data)

    def error(self, code, status, message):
        self.send(code, {"error": {"code": code, "message": message, "status": status}})

    def principal(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        try:
            h, c, s = auth[7:].split(".")
            TOKEN_KEY.verify(b64u_dec(s), (h + "." + c).encode(), padding.PKCS1v15(),
                             hashes.SHA256())
            claims = json.loads(b64u_dec(c))
        except Exception:
            return None
        scopes = claims.get("scope", "").split()
        if claims.get("exp", 0) < time.time() or not any(
                s in scopes for s in ("https://www.googleapis.com/auth/cloudkms",
                                      "https://www.googleapis.com/auth/cloud-platform")):
            return None
        return claims.get("sub")

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        who = self.principal()
        if who is None:
            return self.error(401, "UNAUTHENTICATED", "Request had invalid authentication "
                              "credentials. Expected OAuth 2 access token, login cookie or other "
                              "valid authentication credential. See "
                              "https://developers.google.com/identity/sign-in/web/devconsole-project.")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self.error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if not u.path.startswith("/v1/"):
            return self.error(404, "NOT_FOUND", "Not found: %s" % u.path)
        path = u.path[4:]
        method, verb = path, None
        if ":" in path.rsplit("/", 1)[-1]:
            method, verb = path.rsplit(":", 1)
        q = dict(urllib.parse.parse_qsl(u.query))
        perms = set(IAM.get(who, []))

        def denied(perm, resource):
            return self.error(403, "PERMISSION_DENIED", "Permission '%s' denied on resource "
                              "'%s' (or it may not exist)." % (perm, resource))

        with LOCK:
            # Admin: create a key, add a version, change the primary, change a version's state.
            if self.command == "POST" and method.endswith("/cryptoKeys") and verb is None:
                if "admin" not in perms:
                    return denied("cloudkms.cryptoKeys.create", method)
                name = method + "/" + q.get("cryptoKeyId", "")
                if not KEY_RE.match(name):
                    return self.error(400, "INVALID_ARGUMENT", "Invalid cryptoKeyId.")
                if name in KEYS:
                    return self.error(409, "ALREADY_EXISTS", "CryptoKey %s already exists." % name)
                KEYS[name] = {"versions": {1: {"state": "ENABLED", "key": os.urandom(32)}},
                              "primary": 1, "next": 2}
                return self.send(200, {"name": name, "purpose": "ENCRYPT_DECRYPT",
                                       "primary": {"name": name + "/cryptoKeyVersions/1",
                                                   "state": "ENABLED"}})
            m = re.match(r"^(.*/cryptoKeys/[^/]+)(?:/cryptoKeyVersions(?:/(\d+))?)?$", method)
            if not m or not KEY_RE.match(m.group(1)):
                return self.error(404, "NOT_FOUND", "Not found: %s" % path)
            name, ver = m.group(1), m.group(2)
            key = KEYS.get(name)
            is_versions = "/cryptoKeyVersions" in method
            if verb in ("encrypt", "decrypt") and not is_versions:
                perm = "cloudkms.cryptoKeyVersions.useTo" + verb.capitalize()
                if ("useTo" + verb.capitalize()) not in perms:
                    return denied(perm, name)
            elif "admin" not in perms:
                return denied("cloudkms.cryptoKeyVersions.update", name)
            if key is None:
                return self.error(404, "NOT_FOUND", "CryptoKey %s not found." % name)
            if is_versions and ver is None and self.command == "POST" and verb is None:
                n = key["next"]
                key["next"] += 1
                key["versions"][n] = {"state": "ENABLED", "key": os.urandom(32)}
                return self.send(200, {"name": "%s/cryptoKeyVersions/%d" % (name, n),
                                       "state": "ENABLED"})
            if verb == "updatePrimaryVersion":
                n = int(body.get("cryptoKeyVersionId", 0))
                if n not in key["versions"]:
                    return self.error(404, "NOT_FOUND", "CryptoKeyVersion not found.")
                key["primary"] = n
                return self.send(200, {"name": name, "primary": {
                    "name": "%s/cryptoKeyVersions/%d" % (name, n),
                    "state": key["versions"][n]["state"]}})
            if ver is not None:
                v = key["versions"].get(int(ver))
                vname = "%s/cryptoKeyVersions/%s" % (name, ver)
                if v is None:
                    return self.error(404, "NOT_FOUND", "CryptoKeyVersion %s not found." % vname)
                if self.command == "PATCH" and q.get("updateMask") == "state":
                    # proto3 JSON takes an enum by name or by number; the official REST clients
                    # send numbers (CryptoKeyVersionState ENABLED = 1, DISABLED = 2).
                    state = {1: "ENABLED", 2: "DISABLED"}.get(body.get("state"), body.get("state"))
                    if state not in ("ENABLED", "DISABLED") or \
                            v["state"] not in ("ENABLED", "DISABLED"):
                        return self.error(400, "FAILED_PRECONDITION", "%s is not in a state that "
                                          "can be changed to %s." % (vname, state))
                    v["state"] = state
                elif verb == "destroy":
                    v["state"] = "DESTROY_SCHEDULED"
                elif verb == "restore":
                    if v["state"] != "DESTROY_SCHEDULED":
                        return self.error(400, "FAILED_PRECONDITION", "%s is not scheduled for "
                                          "destruction." % vname)
                    v["state"] = "DISABLED"
                else:
                    return self.error(400, "INVALID_ARGUMENT", "Unsupported request.")
                return self.send(200, {"name": vname, "state": v["state"]})
            try:
                aad = base64.b64decode(body.get("additionalAuthenticatedData", ""), validate=True)
            except ValueError:
                return self.error(400, "INVALID_ARGUMENT", "Invalid value at "
                                  "'additional_authenticated_data' (TYPE_BYTES), Base64 decoding failed.")
            if verb == "encrypt":
                try:
                    pt = base64.b64decode(body.get("plaintext", ""), validate=True)
                except ValueError:
                    return self.error(400, "INVALID_ARGUMENT", "Invalid value at 'plaintext' "
                                      "(TYPE_BYTES), Base64 decoding failed.")
                n = key["primary"]
                v = key["versions"][n]
                vname = "%s/cryptoKeyVersions/%d" % (name, n)
                if v["state"] != "ENABLED":
                    return self.error(400, "FAILED_PRECONDITION", "%s is not enabled, current "
                                      "state is: %s." % (vname, v["state"]))
                nonce = os.urandom(12)
                ct = b"\x01" + struct.pack(">I", n) + nonce + AESGCM(v["key"]).encrypt(nonce, pt, aad)
                return self.send(200, {"name": vname,
                                       "ciphertext": base64.b64encode(ct).decode(),
                                       "verifiedPlaintextCrc32c": False,
                                       "verifiedAdditionalAuthenticatedDataCrc32c": False,
                                       "protectionLevel": "SOFTWARE"})
            if verb == "decrypt":
                try:
                    ct = base64.b64decode(body.get("ciphertext", ""), validate=True)
                except ValueError:
                    return self.error(400, "INVALID_ARGUMENT", "Invalid value at 'ciphertext' "
                                      "(TYPE_BYTES), Base64 decoding failed.")
                invalid = "Decryption failed: the ciphertext is invalid."
                if len(ct) < 1 + 4 + 12 + 16 or ct[0] != 1:
                    return self.error(400, "INVALID_ARGUMENT", invalid)
                n = struct.unpack(">I", ct[1:5])[0]
                v = key["versions"].get(n)
                if v is None:
                    return self.error(400, "INVALID_ARGUMENT", invalid)
                vname = "%s/cryptoKeyVersions/%d" % (name, n)
                if v["state"] != "ENABLED":
                    return self.error(400, "FAILED_PRECONDITION", "%s is not enabled, current "
                                      "state is: %s." % (vname, v["state"]))
                try:
                    pt = AESGCM(v["key"]).decrypt(ct[5:17], ct[17:], aad)
                except Exception:
                    return self.error(400, "INVALID_ARGUMENT", invalid)
                return self.send(200, {"plaintext": base64.b64encode(pt).decode(),
                                       "usedPrimary": n == key["primary"],
                                       "protectionLevel": "SOFTWARE"})
            return self.error(400, "INVALID_ARGUMENT", "Unsupported request.")

    do_GET = do_POST = do_PATCH = route


def main():
    global ARGS, IAM, TOKEN_KEY
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--token-public-key", required=True)
    ap.add_argument("--iam", required=True)
    ap.add_argument("--log", required=True)
    ARGS = ap.parse_args()
    IAM = json.load(open(ARGS.iam))
    TOKEN_KEY = serialization.load_pem_public_key(open(ARGS.token_public_key, "rb").read())
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Kms)
    srv.daemon_threads = True
    if not ARGS.plain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    sys.stderr.write("gcp kms on %d\n" % ARGS.port)
    srv.serve_forever()


if __name__ == "__main__":
    main()
