#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""seeds.py -- write the seed inputs of the fuzz targets that take service answers.

    python3 fuzz/seeds.py [TARGET...]      (default: every target this script knows)

Each seed is a mode byte and then a script of answers (fuzz/fuzz_common.h): what a well-behaved
service answers for the calls the provider makes, so the fuzzer starts from the paths that
succeed and the error answers the tests use. Files go to fuzz/corpus/TARGET/ (replaced).
The seeds made by the real writers (keystore, blocks, snapshots, segments) come from
fuzz/fuzz_seedgen.c instead.
"""
import base64
import json
import os
import sys

SEP = b"\n=====\n"
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def answer(status, body, headers=()):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    head = b"%d\n" % status
    if headers:
        head += b"".join(h.encode() + b"\n" for h in headers) + b"\n"
    return head + body


def script(mode, *answers):
    return bytes([mode]) + SEP.join(answers)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64(b):
    return base64.b64encode(b).decode()


KEY = bytes([0x5A] * 32)
VAULT = "https://fuzz.vault.azure.net"
KID = VAULT + "/keys/wtkms/0123456789abcdef0123456789abcdef"


def azure():
    tok = answer(200, {"access_token": "eyJ0eXAiOiJKV1QifQ.e30.sig", "expires_in": 3599,
                       "token_type": "Bearer"})
    tok_imds = answer(200, {"access_token": "eyJ0eXAi.e30.sig", "expires_in": "86399",
                            "expires_on": "1900000000", "resource": "https://vault.azure.net",
                            "token_type": "Bearer"})
    tok_app = answer(200, {"access_token": "eyJ0eXAi.e30.sig", "expires_on": 1764000000,
                           "resource": "https://vault.azure.net", "token_type": "Bearer"})
    getkey = answer(200, {"key": {"kid": KID, "kty": "RSA", "key_ops": ["wrapKey", "unwrapKey"],
                                  "n": b64u(bytes(range(256))), "e": "AQAB"},
                          "attributes": {"enabled": True}})
    wrap = answer(200, {"kid": KID, "value": b64u(bytes(range(256)))})
    unwrap = answer(200, {"kid": KID, "value": b64u(KEY)})
    err = lambda st, code, inner, msg: answer(st, {"error": {"code": code, "message": msg,
                                                             "innererror": {"code": inner}}})
    entra_err = answer(401, {"error": "invalid_client",
                             "error_description": "AADSTS7000215: Invalid client secret provided."})
    return {
        "secret_ok": script(0, tok, getkey, wrap, unwrap),
        "secret_versioned_ok": script(4, tok, wrap, unwrap),
        "imds_ok": script(1, tok_imds, getkey, wrap, unwrap),
        "appservice_ok": script(2, tok_app, getkey, wrap, unwrap),
        "token_refused": script(0, entra_err),
        "token_5xx": script(1, answer(503, "busy"), answer(503, "busy"), answer(500, ""), answer(500, "")),
        "key_disabled": script(4, tok, err(403, "Forbidden", "KeyDisabled", "Operation wrapKey is not allowed on a disabled key.")),
        "unwrap_400": script(4, tok, answer(400, {"error": {"code": "BadParameter", "message": "bad"}}),
                             err(400, "BadParameter", "", "The parameter is incorrect.")),
        "token_401_retry": script(4, tok, answer(401, ""), tok, wrap, unwrap),
        "not_found": script(0, tok, err(404, "KeyNotFound", "", "A key with (name/id) wtkms was not found in this key vault.")),
        "throttled": script(4, tok, answer(429, "", ["Retry-After: 1"]), answer(429, ""), answer(429, ""), answer(429, "")),
        # Regression (found by this target): a double beyond int64 in expires_on was cast
        # (undefined), then the subtraction of the time overflowed.
        "regress_expires_on_double": script(2, answer(200, '{"access_token": "eyJ0eXAi.e30.sig", "expires_on": 1900000e80}'), getkey, wrap, unwrap),
    }


GCP_KEY = "projects/fuzz/locations/global/keyRings/ring/cryptoKeys/wtkms"


def gcp():
    tok = answer(200, {"access_token": "ya29.c.fuzz", "expires_in": 3599, "token_type": "Bearer"})
    enc = answer(200, {"name": GCP_KEY + "/cryptoKeyVersions/1", "ciphertext": b64(bytes(range(73))),
                       "ciphertextCrc32c": "1234567", "protectionLevel": "SOFTWARE",
                       "verifiedPlaintextCrc32c": True, "verifiedAdditionalAuthenticatedDataCrc32c": True})
    dec = answer(200, {"plaintext": b64(KEY), "plaintextCrc32c": "7654321", "usedPrimary": True,
                       "protectionLevel": "SOFTWARE"})
    err = lambda st, status, msg: answer(st, {"error": {"code": st, "message": msg, "status": status}})
    return {
        "metadata_ok": script(0, tok, enc, dec),
        "service_account_ok": script(1, tok, enc, dec),
        "token_refused": script(1, answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})),
        "metadata_5xx": script(0, answer(500, "oops"), answer(502, "<html>bad gateway</html>"), answer(503, ""), answer(503, "")),
        "denied": script(0, tok, err(403, "PERMISSION_DENIED", "Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource")),
        "disabled": script(0, tok, err(400, "FAILED_PRECONDITION", "projects/fuzz/.../cryptoKeyVersions/1 is not enabled, current state is: DISABLED."),
                           err(400, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.")),
        "not_found": script(1, tok, err(404, "NOT_FOUND", "CryptoKey not found.")),
        "expired_token": script(0, tok, enc, answer(401, err(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")[4:]), tok, dec),
    }


ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def aws():
    enc = answer(200, {"CiphertextBlob": b64(bytes(range(184))), "KeyId": ARN,
                       "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
    dec = answer(200, {"Plaintext": b64(KEY), "KeyId": ARN, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
    err = lambda st, t, m: answer(st, {"__type": t, "message": m})
    return {
        "ok": script(0, enc, dec),
        "alias_ok": script(1, enc, dec),
        "denied": script(0, err(400, "AccessDeniedException", "User: arn:aws:iam::111122223333:user/x is not authorized to perform: kms:Encrypt")),
        "disabled": script(0, err(400, "DisabledException", "arn:... is disabled."),
                           err(400, "KMSInvalidStateException", "arn:... is pending deletion.")),
        "wrong_key": script(0, enc, err(400, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")),
        "invalid_ciphertext": script(0, err(400, "InvalidCiphertextException", "")),
        "throttled": script(0, err(400, "ThrottlingException", "Rate exceeded"), err(400, "ThrottlingException", "Rate exceeded"), enc, dec),
        "5xx": script(0, answer(500, {"__type": "KMSInternalException"}), answer(503, "<html>Service Unavailable</html>"), answer(500, ""), answer(500, "")),
        "bad_token": script(1, err(400, "UnrecognizedClientException", "The security token included in the request is invalid.")),
        "200_with_type": script(0, answer(200, {"__type": "AccessDeniedException", "Message": "denied"})),
        "xml_error": script(0, answer(403, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>")),
    }


def sts_xml(action, exp="2026-12-02T12:34:56Z"):
    return answer(200, """<%sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <%sResult>
    <Credentials>
      <AccessKeyId>FUZZ-SESSION-KEY-ID</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCY&amp;EXAMPLEKEY</SecretAccessKey>
      <SessionToken>FwoGZXIvYXdzEFUaDFuzzSessionToken&lt;&gt;&quot;&apos;</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/wtkms/s</Arn></AssumedRoleUser>
  </%sResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</%sResponse>""" % (action, action, exp, action, action))


def aws_creds():
    creds_json = lambda exp: answer(200, {"Code": "Success", "LastUpdated": "2026-12-02T10:00:00Z",
                                          "Type": "AWS-HMAC", "AccessKeyId": "FUZZ-SESSION-KEY-ID",
                                          "SecretAccessKey": "fuzzsecretfuzzsecretfuzzsecretfuzzsecret",
                                          "Token": "IQoJb3JpZ2luX2VjEFuzz", "Expiration": exp})
    sts_err = answer(403, """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error>
  <RequestId>1</RequestId></ErrorResponse>""")
    throttle = answer(400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>")
    return {
        "static": script(0, b""),
        "assume_role": script(1, sts_xml("AssumeRole")),
        "assume_role_offset": script(1, sts_xml("AssumeRole", "2026-12-02T12:34:56.123+01:00")),
        "assume_role_denied": script(1, sts_err),
        "assume_role_throttled": script(1, throttle, sts_xml("AssumeRole")),
        "web_identity": script(2, sts_xml("AssumeRoleWithWebIdentity")),
        "web_identity_invalid": script(2, answer(400, "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>Couldn't retrieve verification key</Message></Error></ErrorResponse>")),
        "ecs": script(3, creds_json("2026-12-02T16:00:00Z")),
        "ecs_denied": script(3, answer(401, "Unauthorized")),
        "imds": script(4, answer(200, "AQAEAFuzzImdsToken=="), answer(200, "wtkms-role\n"), creds_json("2026-12-02T16:00:00Z")),
        "imds_no_role": script(4, answer(200, "tok"), answer(404, "")),
        "time": bytes([5]) + b"2026-12-02T12:34:56.789-05:30",
        "time_z": bytes([5]) + b"2026-12-02T12:34:56Z",
        # Regression (issue 12 finding 13, found again by this target): a one-digit offset made
        # the parser skip past the end of the string.
        "regress_time_short_offset": bytes([5]) + b"2026-12-02T12:34:56.725930-8:0",
        "regress_sts_short_offset": script(1, sts_xml("AssumeRole", "2-5-1T1:3:5+0:0")),
    }


def s3():
    listing = lambda trunc, token, keys: answer(200, """<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>wtkms/</Prefix>
<KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>%s</IsTruncated>%s
%s</ListBucketResult>""" % (len(keys), trunc, "<NextContinuationToken>%s</NextContinuationToken>" % token if token else "",
                           "".join("<CommonPrefixes><Prefix>wtkms/snapshots/%s/</Prefix></CommonPrefixes>" % k for k in keys)))
    uploads = lambda trunc, km, um, keys: answer(200, """<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bucket</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>%s<Prefix>wtkms/snapshots/</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>%s</IsTruncated>%s</ListMultipartUploadsResult>""" % (
        "<NextKeyMarker>%s</NextKeyMarker><NextUploadIdMarker>%s</NextUploadIdMarker>" % (km, um) if km else "", trunc,
        "".join("<Upload><Key>wtkms/snapshots/%s</Key><UploadId>id-%d</UploadId><StorageClass>STANDARD</StorageClass><Initiated>2020-01-01T00:00:00.000Z</Initiated></Upload>" % (k, i) for i, k in enumerate(keys))))
    err = lambda st, code, msg: answer(st, """<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>%s</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>x</HostId></Error>""" % (code, msg))
    ids = ["20261125T224529Z-1a2b3c4d", "20261126T000000Z-deadbeef"]
    return {
        "list_one_page": script(0, listing("false", None, ids), answer(200, ""), answer(404, "")),
        "list_two_pages": script(0, listing("true", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", ids[:1]), listing("false", None, ids[1:]), answer(200, ""), answer(200, "")),
        "list_escaped": script(0, listing("false", None, ["20261125T224529Z-1a2b3c4d&amp;", "a&lt;b"])),
        "list_denied": script(0, err(403, "AccessDenied", "Access Denied")),
        "list_no_bucket": script(0, err(404, "NoSuchBucket", "The specified bucket does not exist")),
        "list_slowdown": script(0, err(503, "SlowDown", "Please reduce your request rate."), listing("false", None, ids)),
        "get": script(1, answer(200, b"WTKMSSNF" + bytes(16), ["Content-Length: 24", "ETag: \"abc\""])),
        "get_missing": script(1, err(404, "NoSuchKey", "The specified key does not exist.")),
        "read": script(2, answer(206, b"WTKMSSNF" + bytes(4088), ["Content-Range: bytes 0-4095/5000"]), answer(206, bytes(904), ["Content-Range: bytes 4096-4999/5000"])),
        "cleanup": script(4, listing("false", None, ids), answer(200, """<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>wtkms/snapshots/20261125T224529Z-1a2b3c4d/files/00000000</Key><LastModified>2026-11-25T22:45:29.000Z</LastModified><Size>5</Size></Contents></ListBucketResult>"""), answer(404, ""), answer(204, "")),
        "remove": script(5, answer(204, ""), answer(200, """<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>wtkms/snapshots/20261125T224529Z-1a2b3c4d/files/00000000</Key><LastModified>2026-11-25T22:45:29.000Z</LastModified></Contents></ListBucketResult>"""), answer(204, "")),
        "put": script(3, *([answer(200, "", ['ETag: "d41d8cd98f00b204e9800998ecf8427e"'])] * 6)),
        "put_denied": script(3, err(403, "AccessDenied", "Access Denied")),
        "uploads_two_pages": script(0x80, uploads("true", "wtkms/snapshots/20200101T000000Z-deadbeef/files/00000000", "abc~1", ["20200101T000000Z-deadbeef/files/00000000"]), uploads("false", None, None, ["junk", "20261125T224529Z-1a2b3c4d/files/00000001"]), answer(204, ""), answer(204, "")),
        "uploads_none": script(0x80, uploads("false", None, None, [])),
    }


def oplog_s3():
    ok = answer(200, """<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>""")
    listing = lambda trunc, token, names: answer(200, """<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>fuzz-bucket</Name><Prefix>oplog/oplog-</Prefix><IsTruncated>%s</IsTruncated>%s%s</ListBucketResult>""" % (
        trunc, "<NextContinuationToken>%s</NextContinuationToken>" % token if token else "",
        "".join("<Contents><Key>oplog/%s</Key><LastModified>2026-12-02T00:00:00.000Z</LastModified><Size>40</Size></Contents>" % n for n in names)))
    hdr = b"WTKMSOPL" + (5).to_bytes(4, "little") + b"\x05\x00\x00\x00\x00"
    err = lambda st, code: answer(st, "<Error><Code>%s</Code><Message>m</Message></Error>" % code)
    return {
        "catalog_two": script(0, ok, listing("false", None, ["oplog-000000000001.seg", "oplog-000000000002.seg", "oplog.head", "oplog-x.seg"]),
                              answer(206, hdr, ["Content-Range: bytes 0-16/17"]), answer(200, hdr), err(404, "NoSuchKey")),
        "catalog_pages": script(0, ok, listing("true", "t1", ["oplog-000000000001.seg"]), listing("false", None, ["oplog-000000000003.seg"]),
                                answer(206, hdr, ["Content-Range: bytes 0-16/99999999999"]), answer(416, ""), answer(200, bytes(40))),
        "read_range": script(1, ok, answer(206, hdr, ["Content-Range: bytes 0-16/17"]), answer(200, hdr)),
        "read_missing": script(1, ok, err(404, "NoSuchKey")),
        "write_new": script(2, ok, answer(200, "")),
        "write_taken_same": script(2, ok, answer(412, ""), answer(200, hdr)),
        "write_taken_other": script(2, ok, answer(412, ""), answer(200, b"other")),
        "write_conflict": script(2, ok, answer(409, "")),
        "head": script(3, ok, answer(200, ""), answer(200, bytes(30))),
        "no_bucket": script(0, err(404, "NoSuchBucket")),
    }


# KMIP (fuzz_kmip.c): TTLV as a KMIP 1.4 server writes it, one record per connection.
def ttlv(tag, typ, value):
    if typ == 0x01:
        body = b"".join(value)
    elif typ in (0x02, 0x05):
        body = value.to_bytes(4, "big")
    elif typ == 0x09:
        body = value.to_bytes(8, "big")
    elif typ == 0x07:
        body = value.encode()
    else:
        body = value
    pad = b"" if typ == 0x01 else bytes(-len(body) % 8)
    if typ in (0x02, 0x05):
        pad = bytes(4)
    return tag.to_bytes(3, "big") + bytes([typ]) + len(body).to_bytes(4, "big") + body + pad


def kmip_item(op, batch_id, status=0, reason=None, message=None, payload=None):
    f = [ttlv(0x42005C, 0x05, op), ttlv(0x420093, 0x08, bytes([batch_id])),
         ttlv(0x42007F, 0x05, status)]
    if reason is not None:
        f.append(ttlv(0x42007E, 0x05, reason))
    if message is not None:
        f.append(ttlv(0x42007D, 0x07, message))
    if payload is not None:
        f.append(ttlv(0x42007C, 0x01, [ttlv(0x420094, 0x07, "fuzz-kmip-key-42")] + payload))
    return ttlv(0x42000F, 0x01, f)


def kmip_response(*items):
    head = ttlv(0x42007A, 0x01, [
        ttlv(0x420069, 0x01, [ttlv(0x42006A, 0x02, 1), ttlv(0x42006B, 0x02, 4)]),
        ttlv(0x420092, 0x09, 1764633600), ttlv(0x42000D, 0x02, len(items))])
    return ttlv(0x42007B, 0x01, [head] + list(items))


def kmip_state(state, batch_id=1):
    return kmip_item(0x0B, batch_id, payload=[ttlv(0x420008, 0x01, [
        ttlv(0x42000A, 0x07, "State"), ttlv(0x42000B, 0x05, state)])])


def kmip_conn(answer, handshake=0, reads=0x3F):
    return bytes([handshake, reads]) + len(answer).to_bytes(2, "little") + answer


def kmip():
    enc = kmip_item(0x1F, 2, payload=[ttlv(0x4200C2, 0x08, bytes(range(32))),
                                      ttlv(0x4200FF, 0x08, bytes(range(16)))])
    enc_iv = kmip_item(0x1F, 2, payload=[ttlv(0x4200C2, 0x08, bytes(range(32))),
                                         ttlv(0x42003D, 0x08, bytes(12)),
                                         ttlv(0x4200FF, 0x08, bytes(range(16)))])
    dec = kmip_item(0x20, 2, payload=[ttlv(0x4200C2, 0x08, KEY)])
    wrap = kmip_response(kmip_state(2), enc)
    unwrap = kmip_response(kmip_state(2), dec)
    fail = lambda op, reason, msg: kmip_item(op, 2, status=1, reason=reason, message=msg)
    return {
        "ok": kmip_conn(wrap) + kmip_conn(unwrap),
        "ok_server_iv": kmip_conn(kmip_response(kmip_state(2), enc_iv)) + kmip_conn(unwrap),
        "ok_items_reversed": kmip_conn(kmip_response(enc, kmip_state(2))) + kmip_conn(kmip_response(dec, kmip_state(2))),
        "ok_trickle": kmip_conn(wrap, reads=0xC2) + kmip_conn(unwrap, reads=0x40),
        "retry_then_ok": kmip_conn(b"", handshake=1) + kmip_conn(wrap[:40]) + kmip_conn(wrap) + kmip_conn(unwrap),
        "refused_cert": kmip_conn(wrap, handshake=0x80),
        "server_cert_bad": kmip_conn(b"", handshake=0x44),
        "not_kmip": kmip_conn(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        "deactivated": kmip_conn(kmip_response(kmip_state(3), enc)) + kmip_conn(kmip_response(kmip_state(5), dec)),
        "not_found": kmip_conn(kmip_response(kmip_item(0x0B, 1, status=1, reason=1, message="no such object"))),
        "denied": kmip_conn(kmip_response(kmip_state(2), fail(0x1F, 0x0C, "not allowed"))) + kmip_conn(kmip_response(kmip_state(2), fail(0x20, 0x0A, "bad tag"))),
        "wrong_sizes": kmip_conn(kmip_response(kmip_state(2), kmip_item(0x1F, 2, payload=[ttlv(0x4200C2, 0x08, bytes(31))]))) + kmip_conn(kmip_response(kmip_state(2), kmip_item(0x20, 2, payload=[ttlv(0x4200C2, 0x08, bytes(48))]))),
        "three_items": kmip_conn(kmip_response(kmip_state(2), enc, kmip_state(2, 3))) + kmip_conn(kmip_response(kmip_state(2), dec, dec)),
    }


TARGETS = {"azure": azure, "gcp": gcp, "aws": aws, "aws_creds": aws_creds, "s3": s3,
           "oplog_s3": oplog_s3, "kmip": kmip}


def main(argv):
    names = argv[1:] or sorted(TARGETS)
    for name in names:
        d = os.path.join(TOP, "fuzz", "corpus", name)
        os.makedirs(d, exist_ok=True)
        for f, data in TARGETS[name]().items():
            with open(os.path.join(d, f), "wb") as fh:
                fh.write(data)
        print("%s: %d seeds" % (name, len(TARGETS[name]())))


if __name__ == "__main__":
    main(sys.argv)
