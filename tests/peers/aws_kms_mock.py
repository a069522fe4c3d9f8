#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small AWS KMS (and STS, EC2/ECS credential endpoint) server for the wtkms tests.

Why it exists: moto ignores DisableKey and pending deletion, and cannot answer an unsigned STS
AssumeRoleWithWebIdentity while its signature checks are on. This server answers those the way
AWS does, and nothing it does not need to.

Every KMS and signed STS request is verified with botocore's own SigV4 signer (the canonical
request is rebuilt from the headers the client says it signed); a wrong secret, an unknown access
key, a wrong session token, a stale X-Amz-Date or a scope for another region or service is
refused with AWS's error type. Errors are AWS's JSON shape: HTTP 400 {"__type": ..., "message":
...}.

KMS (POST /, X-Amz-Target: TrentService.X, application/x-amz-json-1.1):
  CreateKey, CreateAlias, DescribeKey, Encrypt, Decrypt, ReEncrypt, EnableKey, DisableKey,
  ScheduleKeyDeletion, CancelKeyDeletion. Ciphertext blobs are AES-256-GCM under the key's own
  material with the encryption context as AAD, and name their key (so Decrypt with the wrong
  KeyId answers IncorrectKeyException, an altered blob InvalidCiphertextException, a disabled key
  DisabledException, a key pending deletion KMSInvalidStateException).
STS (POST /, form Action=...): AssumeRole (signed) and AssumeRoleWithWebIdentity (unsigned; the
  token must equal the one in --web-identity-token-file). Both issue temporary credentials this
  server then accepts, with Expiration.
Credential endpoints, serving the credentials in --serve-creds (JSON AccessKeyId,
  SecretAccessKey, Token) with Expiration now + --serve-expiration seconds:
  IMDSv2: PUT /latest/api/token (needs X-aws-ec2-metadata-token-ttl-seconds), then
  GET /latest/meta-data/iam/security-credentials/[ROLE] with X-aws-ec2-metadata-token (401
  without it, as IMDSv2-only instances answer); ECS: GET /ecs/creds with Authorization equal to
  --ecs-token when that is given.
Test control (never part of AWS): GET /_admin/stats (request counts by operation),
  POST /_admin/delete-key?key=ID (the key is gone, as after its waiting period),
  POST /_admin/reset-stats.

usage: aws_kms_mock.py --port P --users FILE [--region R] [--account A]
       [--web-identity-token-file F] [--serve-creds F] [--serve-expiration S] [--ecs-token T]
--users: JSON {"ACCESS_KEY_ID": {"secret": "...", "token": null|"...", "allow": ["kms:*", ...]}}
"""
import argparse
import base64
import datetime
import json
import os
import secrets
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BLOB_MAGIC = b"MOCKKMS1"


class AwsError(Exception):
    def __init__(self, type_, message, status=400):
        super().__init__(message)
        self.type = type_
        self.message = message
        self.status = status


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.region = args.region
        self.account = args.account
        with open(args.users) as f:
            self.users = json.load(f)
        self.keys = {}      # id -> {"material", "state", "arn", "deletion_date"}
        self.aliases = {}   # "alias/x" -> id
        self.stats = {}
        self.web_token = None
        if args.web_identity_token_file:
            with open(args.web_identity_token_file) as f:
                self.web_token = f.read().strip()
        self.serve_creds = None
        if args.serve_creds:
            with open(args.serve_creds) as f:
                self.serve_creds = json.load(f)
        self.serve_expiration = args.serve_expiration
        self.ecs_token = args.ecs_token
        self.imds_tokens = set()

    def count(self, op):
        with self.lock:
            self.stats[op] = self.stats.get(op, 0) + 1

    def arn(self, key_id):
        return "arn:aws:kms:%s:%s:key/%s" % (self.region, self.account, key_id)

    def resolve(self, key_id, must_exist=True):
        """A key by id, ARN, alias name or alias ARN -> its id (NotFoundException if unknown)."""
        if not key_id:
            raise AwsError("ValidationException", "KeyId is required")
        kid = key_id
        if kid.startswith("arn:"):
            parts = kid.split(":", 5)
            if len(parts) != 6 or parts[3] != self.region or parts[4] != self.account:
                raise AwsError("NotFoundException", "Invalid arn %s" % key_id)
            kid = parts[5]
            if kid.startswith("key/"):
                kid = kid[4:]
        if kid.startswith("alias/"):
            if kid not in self.aliases:
                raise AwsError("NotFoundException", "Alias %s is not found." % self.alias_arn(kid))
            kid = self.aliases[kid]
        if kid not in self.keys:
            raise AwsError("NotFoundException", "Key '%s' does not exist" % self.arn(kid))
        return kid

    def alias_arn(self, name):
        return "arn:aws:kms:%s:%s:%s" % (self.region, self.account, name)

    def usable(self, kid):
        k = self.keys[kid]
        if k["state"] == "Disabled":
            raise AwsError("DisabledException", "%s is disabled." % k["arn"])
        if k["state"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", "%s is pending deletion." % k["arn"])
        return k


def context_aad(ctx):
    return json.dumps(ctx or {}, sort_keys=True, separators=(",", ":")).encode()


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set in main

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    # -- plumbing -------------------------------------------------------------------------
    def send(self, status, body, ctype="application/x-amz-json-1.1"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj))

    def send_error_json(self, e):
        self.send_json(e.status, {"__type": e.type, "message": e.message})

    def send_sts_error(self, e):
        body = ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
                "<Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                "<RequestId>%s</RequestId></ErrorResponse>" % (e.type, e.message, uuid.uuid4()))
        self.send(e.status if e.status != 400 else 403 if e.type == "AccessDenied" else 400,
                  body, "text/xml")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # -- SigV4 ----------------------------------------------------------------------------
    def verify(self, body, service):
        """The caller's user record, or AwsError as AWS would answer."""
        auth = self.headers.get("Authorization")
        if not auth or not auth.startswith("AWS4-HMAC-SHA256 "):
            raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token")
        try:
            fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
            cred = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            sig = fields["Signature"]
            ak, date, region, svc = cred[0], cred[1], cred[2], cred[3]
        except (KeyError, ValueError, IndexError):
            raise AwsError("IncompleteSignatureException", "Authorization header is malformed")
        user = self.state.users.get(ak)
        if user is None:
            raise AwsError("UnrecognizedClientException",
                           "The security token included in the request is invalid.")
        if user.get("expires") and now_utc().timestamp() > user["expires"]:
            raise AwsError("ExpiredTokenException", "The security token included in the request is expired")
        if (user.get("token") or None) != (self.headers.get("X-Amz-Security-Token") or None):
            raise AwsError("UnrecognizedClientException",
                           "The security token included in the request is invalid.")
        if region != self.state.region or svc != service:
            raise AwsError("InvalidSignatureException",
                           "Credential should be scoped to a valid region and service %s." % service)
        amz_date = self.headers.get("X-Amz-Date")
        if not amz_date or "x-amz-date" not in signed or "host" not in signed:
            raise AwsError("IncompleteSignatureException", "X-Amz-Date and Host must be signed")
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        if abs((now_utc() - t).total_seconds()) > 300 or amz_date[:8] != date:
            raise AwsError("InvalidSignatureException", "Signature expired: %s is now earlier or later than 5 minutes" % amz_date)
        # Rebuild the request from exactly the headers the client signed, as AWS does.
        headers = {}
        for name in signed:
            values = self.headers.get_all(name)
            if values is None:
                raise AwsError("IncompleteSignatureException", "Signed header %s is missing" % name)
            headers[name] = ",".join(values)
        req = AWSRequest(method=self.command, url=self.path, data=body, headers=headers)
        req.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(ak, user["secret"], user.get("token")), svc, region)
        canonical = signer.canonical_request(req)
        expected = signer.signature(signer.string_to_sign(req, canonical), req)
        if not secrets.compare_digest(expected, sig):
            raise AwsError("InvalidSignatureException",
                           "The request signature we calculated does not match the signature you "
                           "provided. Check your AWS Secret Access Key and signing method.")
        return ak, user

    @staticmethod
    def allowed(user, action):
        for a in user.get("allow", []):
            if a == "*" or a == action or (a.endswith("*") and action.startswith(a[:-1])):
                return True
        return False

    # -- routing --------------------------------------------------------------------------
    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/_admin/stats":
            with self.state.lock:
                return self.send_json(200, dict(self.state.stats))
        if path.startswith("/latest/meta-data/iam/security-credentials"):
            return self.imds_creds(path)
        if path == "/ecs/creds":
            return self.ecs_creds()
        self.send(404, "not found", "text/plain")

    def do_PUT(self):
        self.body()
        if urllib.parse.urlparse(self.path).path == "/latest/api/token":
            self.state.count("IMDS:token")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.send(400, "", "text/plain")
            tok = base64.b64encode(os.urandom(30)).decode()
            self.state.imds_tokens.add(tok)
            return self.send(200, tok, "text/plain")
        self.send(404, "not found", "text/plain")

    def do_POST(self):
        body = self.body()
        parsed = urllib.parse.urlparse(self.path)
        if parsed.path == "/_admin/delete-key":
            kid = urllib.parse.parse_qs(parsed.query)["key"][0]
            with self.state.lock:
                self.state.keys.pop(self.state.resolve(kid), None)
            return self.send_json(200, {})
        if parsed.path == "/_admin/reset-stats":
            with self.state.lock:
                self.state.stats.clear()
            return self.send_json(200, {})
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith("TrentService."):
            return self.kms(target[len("TrentService."):], body)
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            return self.sts(body)
        self.send_error_json(AwsError("UnknownOperationException", "no such operation"))

    # -- credential endpoints -------------------------------------------------------------
    def served(self):
        c = dict(self.state.serve_creds)
        c.update({"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": iso(now_utc()),
                  "Expiration": iso(now_utc() + datetime.timedelta(seconds=self.state.serve_expiration))})
        return c

    def imds_creds(self, path):
        self.state.count("IMDS:credentials")
        if self.headers.get("X-aws-ec2-metadata-token") not in self.state.imds_tokens:
            return self.send(401, "", "text/plain")
        if self.state.serve_creds is None:
            return self.send(404, "", "text/plain")
        role = path[len("/latest/meta-data/iam/security-credentials"):].strip("/")
        if not role:
            return self.send(200, "wtkms-instance-role", "text/plain")
        if role != "wtkms-instance-role":
            return self.send(404, "", "text/plain")
        self.send_json(200, self.served())

    def ecs_creds(self):
        self.state.count("ECS:credentials")
        if self.state.ecs_token and self.headers.get("Authorization") != self.state.ecs_token:
            return self.send(401, json.dumps({"message": "bad token"}), "application/json")
        if self.state.serve_creds is None:
            return self.send(404, "", "text/plain")
        self.send_json(200, self.served())

    # -- STS --------------------------------------------------------------------------------
    def issue(self, allow):
        ak = "ASIA" + secrets.token_hex(8).upper()
        secret = base64.b64encode(os.urandom(30)).decode()
        token = base64.b64encode(os.urandom(120)).decode()
        exp = now_utc() + datetime.timedelta(hours=1)
        with self.state.lock:
            self.state.users[ak] = {"secret": secret, "token": token, "allow": allow,
                                    "expires": exp.timestamp()}
        return ak, secret, token, exp

    def sts(self, body):
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        action = form.get("Action", "")
        self.state.count("STS:" + action)
        try:
            if action == "AssumeRoleWithWebIdentity":
                if self.state.web_token is None or form.get("WebIdentityToken") != self.state.web_token:
                    raise AwsError("InvalidIdentityToken", "Couldn't verify the token")
                allow = ["kms:*"]
            elif action == "AssumeRole":
                _, user = self.verify(body, "sts")
                if not self.allowed(user, "sts:AssumeRole"):
                    raise AwsError("AccessDenied", "not authorized to perform sts:AssumeRole")
                allow = ["kms:*"]
            else:
                raise AwsError("InvalidAction", "Could not find operation %s" % action)
            if not form.get("RoleArn") or not form.get("RoleSessionName"):
                raise AwsError("ValidationError", "RoleArn and RoleSessionName are required")
        except AwsError as e:
            if e.type in ("UnrecognizedClientException", "InvalidSignatureException"):
                e.type = "SignatureDoesNotMatch" if e.type == "InvalidSignatureException" else "InvalidClientTokenId"
            return self.send_sts_error(e)
        ak, secret, token, exp = self.issue(allow)
        role = form["RoleArn"].split("/")[-1]
        body = ("<{a}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{a}Result>"
                "<Credentials><AccessKeyId>{ak}</AccessKeyId><SecretAccessKey>{sk}</SecretAccessKey>"
                "<SessionToken>{tok}</SessionToken><Expiration>{exp}</Expiration></Credentials>"
                "<AssumedRoleUser><AssumedRoleId>AROA:{s}</AssumedRoleId>"
                "<Arn>arn:aws:sts::{acct}:assumed-role/{role}/{s}</Arn></AssumedRoleUser>"
                "</{a}Result></{a}Response>").format(
            a=action, ak=ak, sk=secret, tok=token, exp=iso(exp), s=form["RoleSessionName"],
            acct=self.state.account, role=role)
        self.send(200, body, "text/xml")

    # -- KMS --------------------------------------------------------------------------------
    def kms(self, op, body):
        self.state.count(op)
        try:
            if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
                raise AwsError("SerializationException", "bad content type")
            _, user = self.verify(body, "kms")
            if not self.allowed(user, "kms:" + op):
                raise AwsError("AccessDeniedException",
                               "User is not authorized to perform: kms:%s" % op)
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                raise AwsError("SerializationException", "body is not JSON")
            fn = getattr(self, "op_" + op, None)
            if fn is None:
                raise AwsError("UnknownOperationException", "no operation %s" % op)
            with self.state.lock:
                out = fn(req)
            self.send_json(200, out)
        except AwsError as e:
            self.send_error_json(e)

    def metadata(self, kid):
        k = self.state.keys[kid]
        return {"KeyId": kid, "Arn": k["arn"], "KeyState": k["state"],
                "Enabled": k["state"] == "Enabled", "KeyUsage": "ENCRYPT_DECRYPT",
                "KeySpec": "SYMMETRIC_DEFAULT", "AWSAccountId": self.state.account}

    def op_CreateKey(self, req):
        kid = str(uuid.uuid4())
        self.state.keys[kid] = {"material": AESGCM.generate_key(256), "state": "Enabled",
                                "arn": self.state.arn(kid)}
        return {"KeyMetadata": self.metadata(kid)}

    def op_CreateAlias(self, req):
        name = req.get("AliasName", "")
        if not name.startswith("alias/"):
            raise AwsError("ValidationException", "AliasName must begin with alias/")
        self.state.aliases[name] = self.state.resolve(req.get("TargetKeyId"))
        return {}

    def op_DescribeKey(self, req):
        return {"KeyMetadata": self.metadata(self.state.resolve(req.get("KeyId")))}

    def op_EnableKey(self, req):
        kid = self.state.resolve(req.get("KeyId"))
        if self.state.keys[kid]["state"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", "%s is pending deletion." % self.state.arn(kid))
        self.state.keys[kid]["state"] = "Enabled"
        return {}

    def op_DisableKey(self, req):
        kid = self.state.resolve(req.get("KeyId"))
        if self.state.keys[kid]["state"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", "%s is pending deletion." % self.state.arn(kid))
        self.state.keys[kid]["state"] = "Disabled"
        return {}

    def op_ScheduleKeyDeletion(self, req):
        kid = self.state.resolve(req.get("KeyId"))
        days = int(req.get("PendingWindowInDays", 30))
        self.state.keys[kid]["state"] = "PendingDeletion"
        when = now_utc() + datetime.timedelta(days=days)
        return {"KeyId": self.state.arn(kid), "DeletionDate": when.timestamp(),
                "KeyState": "PendingDeletion", "PendingWindowInDays": days}

    def op_CancelKeyDeletion(self, req):
        kid = self.state.resolve(req.get("KeyId"))
        if self.state.keys[kid]["state"] != "PendingDeletion":
            raise AwsError("KMSInvalidStateException", "%s is not pending deletion." % self.state.arn(kid))
        self.state.keys[kid]["state"] = "Disabled"  # as AWS: cancelled keys come back disabled
        return {"KeyId": self.state.arn(kid)}

    def encrypt(self, kid, plaintext, ctx):
        k = self.state.usable(kid)
        nonce = os.urandom(12)
        ct = AESGCM(k["material"]).encrypt(nonce, plaintext, context_aad(ctx))
        return BLOB_MAGIC + kid.encode() + nonce + ct

    def decrypt(self, blob, ctx, want_kid):
        if not blob.startswith(BLOB_MAGIC) or len(blob) < len(BLOB_MAGIC) + 36 + 12 + 16:
            raise AwsError("InvalidCiphertextException", "")
        kid = blob[len(BLOB_MAGIC):len(BLOB_MAGIC) + 36].decode(errors="replace")
        if want_kid is not None and want_kid != kid:
            raise AwsError("IncorrectKeyException",
                           "The key ID in the request does not identify a CMK that can perform this operation.")
        if kid not in self.state.keys:
            raise AwsError("NotFoundException", "Key '%s' does not exist" % self.state.arn(kid))
        k = self.state.usable(kid)
        rest = blob[len(BLOB_MAGIC) + 36:]
        try:
            pt = AESGCM(k["material"]).decrypt(rest[:12], rest[12:], context_aad(ctx))
        except Exception:
            raise AwsError("InvalidCiphertextException", "")
        return kid, pt

    @staticmethod
    def b64(req, name, limit):
        try:
            v = base64.b64decode(req.get(name, ""), validate=True)
        except Exception:
            raise AwsError("ValidationException", "%s is not base64" % name)
        if not 1 <= len(v) <= limit:
            raise AwsError("ValidationException", "%s has a bad length" % name)
        return v

    def op_Encrypt(self, req):
        kid = self.state.resolve(req.get("KeyId"))
        blob = self.encrypt(kid, self.b64(req, "Plaintext", 4096), req.get("EncryptionContext"))
        return {"CiphertextBlob": base64.b64encode(blob).decode(), "KeyId": self.state.arn(kid),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}

    def op_Decrypt(self, req):
        want = self.state.resolve(req["KeyId"]) if req.get("KeyId") else None
        kid, pt = self.decrypt(self.b64(req, "CiphertextBlob", 6144), req.get("EncryptionContext"), want)
        return {"KeyId": self.state.arn(kid), "Plaintext": base64.b64encode(pt).decode(),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}

    def op_ReEncrypt(self, req):
        want = self.state.resolve(req["SourceKeyId"]) if req.get("SourceKeyId") else None
        src, pt = self.decrypt(self.b64(req, "CiphertextBlob", 6144),
                               req.get("SourceEncryptionContext"), want)
        dst = self.state.resolve(req.get("DestinationKeyId"))
        blob = self.encrypt(dst, pt, req.get("DestinationEncryptionContext"))
        return {"CiphertextBlob": base64.b64encode(blob).decode(), "KeyId": self.state.arn(dst),
                "SourceKeyId": self.state.arn(src)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--account", default="111122223333")
    ap.add_argument("--web-identity-token-file")
    ap.add_argument("--serve-creds")
    ap.add_argument("--serve-expiration", type=int, default=6 * 3600)
    ap.add_argument("--ecs-token")
    args = ap.parse_args()
    Handler.state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
