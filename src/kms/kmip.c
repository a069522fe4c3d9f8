/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kmip.c -- the "kmip" provider: the master key is a symmetric key on a KMIP server (1.4),
 * reached over TLS with a client certificate.
 *
 * The key never leaves the server: wrap is the server's Encrypt and unwrap its Decrypt, with
 * AES-GCM (a 12-byte IV we choose, a 16-byte tag, a fixed AAD). Each call is one request message
 * carrying two batch items, GetAttributes(State) then Encrypt or Decrypt, so one round trip does
 * both, and the answer is used only if the key is Active: KMIP lets servers decrypt under a
 * Deactivated key, and some let a revoked key still be used, so the state is checked here rather
 * than trusted to the server. Fetching the key material with Get is not offered.
 *
 * Transport (kmip_tls.c): libcurl opens the TLS connection, then the TTLV message goes over it.
 * Requests are idempotent (no server state changes), so connection failures and timeouts are
 * retried with the same capped, jittered backoff as HTTP; TLS verification failures and KMIP
 * errors never are.
 *
 * Blob: version byte 0x01 || IV (12) || GCM tag (16) || ciphertext (32).
 *
 * Settings: endpoint=HOST[:PORT] (default port 5696), key_id=UNIQUE_IDENTIFIER,
 * client_cert_file=PATH, client_key_file=PATH (PEM, unencrypted, mode 600), and the common
 * transport settings of http.h (ca_file, proxy, connect_timeout_ms, timeout_ms, deadline_ms,
 * max_retries, retry_base_ms, retry_cap_ms).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "crypto.h"
#include "fileio.h"
#include "http.h"
#include "kmip_tls.h"
#include "kmip_ttlv.h"
#include "kms.h"
#include "secure.h"

#define KMIP_DEFAULT_PORT 5696
#define KMIP_BLOB_VERSION 0x01
#define KMIP_TAG_LEN 16
#define KMIP_BLOB_LEN (1 + WTKMS_KMIP_GCM_IV_LEN + KMIP_TAG_LEN + WTKMS_KEY_LEN)
#define KMIP_MAX_REQUEST 2048
#define KMIP_MAX_RESPONSE (64 * 1024)

static const char kmip_aad[] = "wtkms kmip wrap v1";

typedef struct {
    wtkms_kms iface; /* must come first */
    char host[256];
    long port;
    char endpoint[300]; /* "host:port", as recorded in descriptors */
    char url[320];      /* "https://host:port" for libcurl */
    char key_id[WTKMS_KMIP_MAX_UID + 1];
    char cert_file[1024], key_file[1024];
    /*
     * The client's private key, read once at open from the checked descriptor (fileio.h,
     * wtkms_read_private_file) and handed to libcurl from memory: the file is never reopened by
     * path. Locked memory, wiped when the provider is freed.
     */
    char *key_pem;
    size_t key_pem_len, key_pem_cap;
    wtkms_http_opts opts;
} kmip_kms;

/*
 * result_error --
 *     A failed batch item, in words a DBA can act on.
 */
static int
result_error(kmip_kms *kk, const char *what, const wtkms_kmip_result *r, wtkms_err *err)
{
    char msg[256], detail[300];

    wtkms_printable(r->message != NULL ? r->message : "", r->message_len, msg, sizeof(msg));
    (void)snprintf(detail, sizeof(detail), "%s%s%s", wtkms_kmip_reason_name(r->reason),
      msg[0] != '\0' ? ": " : "", msg);
    switch (r->reason) {
    case WTKMS_KMIP_REASON_ITEM_NOT_FOUND:
        return (wtkms_errf(err, ENOKEY,
          "KMIP key %s does not exist on %s (%s): if it was destroyed, data wrapped under it "
          "cannot be recovered; otherwise check key_id",
          kk->key_id, kk->endpoint, detail));
    case WTKMS_KMIP_REASON_PERMISSION_DENIED:
    case WTKMS_KMIP_REASON_AUTHENTICATION:
        return (wtkms_errf(err, EACCES,
          "KMIP server %s refused %s on key %s (%s): grant the identity of this client "
          "certificate (%s) GetAttributes, Encrypt and Decrypt on the key, and check that the "
          "key has the Encrypt and Decrypt usage mask bits",
          kk->endpoint, what, kk->key_id, detail, kk->cert_file));
    case WTKMS_KMIP_REASON_CRYPTOGRAPHIC_FAILURE:
        if (r->operation == WTKMS_KMIP_OP_DECRYPT || strcmp(what, "Decrypt") == 0)
            return (wtkms_errf(err, EKEYREJECTED,
              "KMIP key %s on %s cannot unwrap this key (%s): it was wrapped under another key "
              "or altered; configure the key it was made under",
              kk->key_id, kk->endpoint, detail));
        break;
    case WTKMS_KMIP_REASON_OBJECT_ARCHIVED:
        return (wtkms_errf(err, EKEYREVOKED,
          "KMIP key %s on %s is archived (%s): recover it on the KMIP server, then retry",
          kk->key_id, kk->endpoint, detail));
    case WTKMS_KMIP_REASON_INVALID_MESSAGE:
    case WTKMS_KMIP_REASON_OPERATION_NOT_SUPPORTED:
    case WTKMS_KMIP_REASON_INVALID_FIELD:
    case WTKMS_KMIP_REASON_FEATURE_NOT_SUPPORTED:
        return (wtkms_errf(err, EPROTO,
          "KMIP server %s refused %s on key %s (%s): wtkms needs KMIP 1.4 Encrypt and Decrypt "
          "with AES-GCM on a symmetric AES key; check that the server supports them and that "
          "key_id names an AES key",
          kk->endpoint, what, kk->key_id, detail));
    default:
        break;
    }
    return (wtkms_errf(err, EIO, "KMIP %s of key %s on %s failed (%s, status %u)", what, kk->key_id,
      kk->endpoint, detail, r->status));
}

/*
 * state_error --
 *     A key that is not Active, named by its state.
 */
static int
state_error(kmip_kms *kk, uint32_t state, wtkms_err *err)
{
    const char *name = wtkms_kmip_state_name(state);

    switch (state) {
    case WTKMS_KMIP_STATE_PRE_ACTIVE:
        return (wtkms_errf(err, EKEYREVOKED,
          "KMIP key %s on %s is Pre-Active (never activated): activate it on the KMIP server, "
          "then retry",
          kk->key_id, kk->endpoint));
    case WTKMS_KMIP_STATE_DEACTIVATED:
    case WTKMS_KMIP_STATE_COMPROMISED:
        return (wtkms_errf(err, EKEYREVOKED,
          "KMIP key %s on %s is %s (revoked): wtkms uses only Active keys and KMIP cannot make "
          "a revoked key Active again; if the revocation was a mistake ask the KMIP "
          "administrator to restore the key, otherwise restore this data from a backup made "
          "under another key",
          kk->key_id, kk->endpoint, name));
    case WTKMS_KMIP_STATE_DESTROYED:
    case WTKMS_KMIP_STATE_DESTROYED_COMPROMISED:
        return (wtkms_errf(err, ENOKEY,
          "KMIP key %s on %s is %s: its key material is gone and data wrapped under it cannot "
          "be recovered",
          kk->key_id, kk->endpoint, name));
    default:
        return (wtkms_errf(err, EPROTO,
          "KMIP key %s on %s is in state %u, which KMIP 1.4 does not define: wtkms uses only "
          "Active keys",
          kk->key_id, kk->endpoint, state));
    }
}

/*
 * kmip_call --
 *     GetAttributes(State) and one Encrypt or Decrypt in one message; checks the state, then
 *     the operation. On success *resultp is the operation's result, pointing into resp.
 */
static int
kmip_call(kmip_kms *kk, wtkms_kmip_op *op, const char *what, uint8_t *resp,
  wtkms_kmip_response *parsed, const wtkms_kmip_result **resultp, wtkms_err *err)
{
    wtkms_kmip_conn conn;
    wtkms_kmip_op ops[2];
    const wtkms_kmip_result *ga, *r;
    uint8_t req[KMIP_MAX_REQUEST];
    const char *why;
    size_t req_len, resp_len;
    uint32_t state;
    int ret;

    memset(&ops[0], 0, sizeof(ops[0]));
    ops[0].operation = WTKMS_KMIP_OP_GET_ATTRIBUTES;
    ops[0].uid = kk->key_id;
    ops[1] = *op;
    ret = wtkms_kmip_build_request(req, sizeof(req), ops, 2, &req_len);
    if (ret != 0) {
        wtkms_wipe(req, sizeof(req));
        return (
          wtkms_errf(err, ret, "KMIP %s of key %s: cannot encode the request", what, kk->key_id));
    }
    conn.url = kk->url;
    conn.endpoint = kk->endpoint;
    conn.key_id = kk->key_id;
    conn.cert_file = kk->cert_file;
    conn.key_pem = kk->key_pem;
    conn.key_pem_len = kk->key_pem_len;
    conn.opts = &kk->opts;
    conn.max_response = KMIP_MAX_RESPONSE;
    ret = wtkms_kmip_roundtrip(&conn, what, req, req_len, resp, &resp_len, err);
    wtkms_wipe(req, req_len); /* it may carry the key being wrapped */
    if (ret != 0)
        return (ret);
    if (wtkms_kmip_parse_response(resp, resp_len, parsed, &why) != 0)
        return (wtkms_errf(err, EPROTO,
          "KMIP %s of key %s: the answer from %s is not a valid KMIP response (%s)", what,
          kk->key_id, kk->endpoint, why));
    if ((ga = wtkms_kmip_result_for(parsed, 1)) == NULL)
        return (wtkms_errf(err, EPROTO,
          "KMIP %s of key %s: the answer from %s has no result for GetAttributes", what, kk->key_id,
          kk->endpoint));
    if (ga->status != WTKMS_KMIP_STATUS_SUCCESS)
        return (result_error(kk, "GetAttributes", ga, err));
    if (!ga->has_payload || (ret = wtkms_kmip_payload_state(&ga->payload, &state)) != 0)
        return (wtkms_errf(err, EPROTO,
          "KMIP server %s did not return the State of key %s: wtkms checks that a key is Active "
          "before using it, so it cannot use this server",
          kk->endpoint, kk->key_id));
    if (state != WTKMS_KMIP_STATE_ACTIVE)
        return (state_error(kk, state, err));
    if ((r = wtkms_kmip_result_for(parsed, 2)) == NULL || r == ga)
        return (
          wtkms_errf(err, EPROTO, "KMIP %s of key %s: the answer from %s has no result for it",
            what, kk->key_id, kk->endpoint));
    if (r->status != WTKMS_KMIP_STATUS_SUCCESS)
        return (result_error(kk, what, r, err));
    if (!r->has_payload)
        return (wtkms_errf(err, EPROTO, "KMIP %s of key %s: the answer from %s carries no data",
          what, kk->key_id, kk->endpoint));
    *resultp = r;
    return (0);
}

/*
 * kmip_describe --
 *     The configured key.
 */
static void
kmip_describe(wtkms_kms *kms, wtkms_kms_desc *desc)
{
    kmip_kms *kk = (kmip_kms *)kms;

    memset(desc, 0, sizeof(*desc));
    (void)snprintf(desc->provider, sizeof(desc->provider), "kmip");
    (void)snprintf(desc->key_id, sizeof(desc->key_id), "%s", kk->key_id);
    (void)snprintf(desc->endpoint, sizeof(desc->endpoint), "%s", kk->endpoint);
}

/*
 * kmip_wrap --
 *     Encrypt a key on the server.
 */
static int
kmip_wrap(wtkms_kms *kms, const uint8_t key[WTKMS_KEY_LEN], uint8_t **blobp, size_t *blob_lenp,
  wtkms_kms_desc *desc, wtkms_err *err)
{
    kmip_kms *kk = (kmip_kms *)kms;
    wtkms_kmip_response parsed;
    const wtkms_kmip_result *r;
    wtkms_kmip_op op;
    const uint8_t *ct, *tag, *iv;
    uint8_t *resp, *blob, myiv[WTKMS_KMIP_GCM_IV_LEN];
    size_t ct_len, tag_len, iv_len;
    int ret;

    *blobp = NULL;
    blob = NULL;
    if ((resp = wtkms_secure_alloc(KMIP_MAX_RESPONSE)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if (wtkms_random(myiv, sizeof(myiv)) != 0) {
        ret = wtkms_errf(err, EIO, "KMIP Encrypt: no random bytes from OpenSSL");
        goto err;
    }
    memset(&op, 0, sizeof(op));
    op.operation = WTKMS_KMIP_OP_ENCRYPT;
    op.uid = kk->key_id;
    op.data = key;
    op.data_len = WTKMS_KEY_LEN;
    op.iv = myiv;
    op.iv_len = sizeof(myiv);
    op.aad = (const uint8_t *)kmip_aad;
    op.aad_len = sizeof(kmip_aad) - 1;
    if ((ret = kmip_call(kk, &op, "Encrypt", resp, &parsed, &r, err)) != 0)
        goto err;
    if (wtkms_ttlv_child_bytes(
          &r->payload, WTKMS_KMIP_TAG_DATA, WTKMS_TTLV_BYTE_STRING, &ct, &ct_len) != 0 ||
        ct_len != WTKMS_KEY_LEN ||
        wtkms_ttlv_child_bytes(
          &r->payload, WTKMS_KMIP_TAG_AE_TAG, WTKMS_TTLV_BYTE_STRING, &tag, &tag_len) != 0 ||
        tag_len != KMIP_TAG_LEN) {
        ret = wtkms_errf(err, EPROTO,
          "KMIP Encrypt of key %s: the answer from %s lacks a %d-byte ciphertext and a %d-byte "
          "GCM tag: the server does not do AES-GCM as KMIP 1.4 specifies",
          kk->key_id, kk->endpoint, WTKMS_KEY_LEN, KMIP_TAG_LEN);
        goto err;
    }
    /* A server returns an IV only if it chose one; then that is the one to keep. */
    iv = myiv;
    if (wtkms_ttlv_child_bytes(&r->payload, WTKMS_KMIP_TAG_IV_COUNTER_NONCE, WTKMS_TTLV_BYTE_STRING,
          &iv, &iv_len) == 0 &&
        iv_len != WTKMS_KMIP_GCM_IV_LEN) {
        ret = wtkms_errf(err, EPROTO,
          "KMIP Encrypt of key %s: the server at %s used a %zu-byte IV instead of ours", kk->key_id,
          kk->endpoint, iv_len);
        goto err;
    }
    if ((blob = malloc(KMIP_BLOB_LEN)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    blob[0] = KMIP_BLOB_VERSION;
    memcpy(blob + 1, iv, WTKMS_KMIP_GCM_IV_LEN);
    memcpy(blob + 1 + WTKMS_KMIP_GCM_IV_LEN, tag, KMIP_TAG_LEN);
    memcpy(blob + 1 + WTKMS_KMIP_GCM_IV_LEN + KMIP_TAG_LEN, ct, WTKMS_KEY_LEN);
    *blobp = blob;
    *blob_lenp = KMIP_BLOB_LEN;
    kmip_describe(kms, desc);
    ret = 0;
err:
    wtkms_secure_free(resp, KMIP_MAX_RESPONSE);
    return (ret);
}

/*
 * kmip_unwrap --
 *     Decrypt a key on the server.
 */
static int
kmip_unwrap(wtkms_kms *kms, const uint8_t *blob, size_t blob_len, const wtkms_kms_desc *stored,
  wtkms_key **keyp, wtkms_err *err)
{
    kmip_kms *kk = (kmip_kms *)kms;
    wtkms_kmip_response parsed;
    const wtkms_kmip_result *r;
    wtkms_kmip_op op;
    wtkms_key *k;
    const uint8_t *pt;
    uint8_t *resp;
    size_t pt_len;
    int ret;

    (void)stored;
    *keyp = NULL;
    if (blob_len != KMIP_BLOB_LEN || blob[0] != KMIP_BLOB_VERSION)
        return (wtkms_errf(err, EKEYREJECTED,
          "KMIP key %s: the wrapped key is %zu bytes with version %u, expected %d bytes with "
          "version %d: it was not made by the kmip provider",
          kk->key_id, blob_len, blob_len > 0 ? blob[0] : 0, KMIP_BLOB_LEN, KMIP_BLOB_VERSION));
    if ((resp = wtkms_secure_alloc(KMIP_MAX_RESPONSE)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    memset(&op, 0, sizeof(op));
    op.operation = WTKMS_KMIP_OP_DECRYPT;
    op.uid = kk->key_id;
    op.iv = blob + 1;
    op.iv_len = WTKMS_KMIP_GCM_IV_LEN;
    op.tag = blob + 1 + WTKMS_KMIP_GCM_IV_LEN;
    op.tag_len = KMIP_TAG_LEN;
    op.data = blob + 1 + WTKMS_KMIP_GCM_IV_LEN + KMIP_TAG_LEN;
    op.data_len = WTKMS_KEY_LEN;
    op.aad = (const uint8_t *)kmip_aad;
    op.aad_len = sizeof(kmip_aad) - 1;
    if ((ret = kmip_call(kk, &op, "Decrypt", resp, &parsed, &r, err)) != 0)
        goto err;
    if (wtkms_ttlv_child_bytes(
          &r->payload, WTKMS_KMIP_TAG_DATA, WTKMS_TTLV_BYTE_STRING, &pt, &pt_len) != 0 ||
        pt_len != WTKMS_KEY_LEN) {
        ret = wtkms_errf(err, EPROTO,
          "KMIP Decrypt of key %s: the answer from %s does not carry a %d-byte key", kk->key_id,
          kk->endpoint, WTKMS_KEY_LEN);
        goto err;
    }
    if ((k = wtkms_key_new()) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    memcpy(k->b, pt, WTKMS_KEY_LEN);
    *keyp = k;
    ret = 0;
err:
    wtkms_secure_free(resp, KMIP_MAX_RESPONSE); /* wiped: it held the key */
    return (ret);
}

/*
 * kmip_free --
 *     Free the provider.
 */
static void
kmip_free(wtkms_kms *kms)
{
    kmip_kms *kk = (kmip_kms *)kms;

    if (kk->key_pem != NULL)
        wtkms_secure_free(kk->key_pem, kk->key_pem_cap);
    free(kk);
}

/*
 * load_client_key --
 *     Read client_key_file (checked on its descriptor) into locked memory.
 */
static int
load_client_key(kmip_kms *kk, const char *origin, wtkms_err *err)
{
    char *buf;
    size_t len;
    int ret;

    if ((ret = wtkms_read_private_file(
           kk->key_file, "client_key_file", 1024 * 1024, &buf, &len, err)) != 0)
        return (wtkms_err_prefix(err, "%s: it holds the client's private key", origin));
    kk->key_pem_cap = len + 1;
    if ((kk->key_pem = wtkms_secure_alloc(kk->key_pem_cap)) == NULL)
        ret = wtkms_errf(err, ENOMEM, "out of memory");
    else {
        memcpy(kk->key_pem, buf, len + 1);
        kk->key_pem_len = len;
    }
    wtkms_wipe(buf, len);
    free(buf);
    return (ret);
}

/*
 * parse_endpoint --
 *     HOST[:PORT] or [IPv6][:PORT].
 */
static int
parse_endpoint(kmip_kms *kk, const char *origin, const char *ep, wtkms_err *err)
{
    const char *colon, *host_end, *host;
    char *end;
    size_t hlen;
    long port;
    bool v6;

    if (strstr(ep, "://") != NULL)
        return (wtkms_errf(err, EINVAL,
          "%s: endpoint=%s: give HOST[:PORT] (for example kmip.example.com:5696), without a "
          "scheme",
          origin, ep));
    v6 = ep[0] == '[';
    if (v6) {
        if ((host_end = strchr(ep, ']')) == NULL)
            return (
              wtkms_errf(err, EINVAL, "%s: endpoint=%s: unterminated [IPv6] address", origin, ep));
        host = ep + 1;
        colon = host_end[1] == ':' ? host_end + 1 : NULL;
        if (host_end[1] != '\0' && colon == NULL)
            return (wtkms_errf(err, EINVAL, "%s: endpoint=%s: expected [IPv6]:PORT", origin, ep));
    } else {
        host = ep;
        colon = strrchr(ep, ':');
        host_end = colon != NULL ? colon : ep + strlen(ep);
    }
    hlen = (size_t)(host_end - host);
    if (hlen == 0 || hlen >= sizeof(kk->host))
        return (
          wtkms_errf(err, EINVAL, "%s: endpoint=%s: no host name, or one too long", origin, ep));
    memcpy(kk->host, host, hlen);
    kk->host[hlen] = '\0';
    if (strspn(kk->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") !=
        hlen)
        return (wtkms_errf(err, EINVAL,
          "%s: endpoint=%s: the host name has characters that "
          "are not allowed",
          origin, ep));
    port = KMIP_DEFAULT_PORT;
    if (colon != NULL) {
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
            return (
              wtkms_errf(err, EINVAL, "%s: endpoint=%s: the port must be 1..65535", origin, ep));
    }
    kk->port = port;
    (void)snprintf(kk->endpoint, sizeof(kk->endpoint), v6 ? "[%s]:%ld" : "%s:%ld", kk->host, port);
    (void)snprintf(kk->url, sizeof(kk->url), "https://%s", kk->endpoint);
    return (0);
}

/*
 * check_file --
 *     A certificate file must exist and be a regular file (the private key: load_client_key).
 */
static int
check_file(const char *origin, const char *setting, const char *path, wtkms_err *err)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return (wtkms_errf(err, errno == ENOENT ? ENOENT : EACCES, "%s: %s=%s: %s", origin, setting,
          path, strerror(errno)));
    if (!S_ISREG(sb.st_mode))
        return (wtkms_errf(err, EINVAL, "%s: %s=%s is not a regular file", origin, setting, path));
    return (0);
}

/*
 * wtkms_kms_kmip_open --
 *     Build the KMIP provider from its settings.
 */
int
wtkms_kms_kmip_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err)
{
    kmip_kms *kk;
    const char *ep, *id, *cert, *key;
    int ret;

    *kmsp = NULL;
    if ((ret = wtkms_config_require(cfg, "endpoint", &ep, err)) != 0 ||
        (ret = wtkms_config_require(cfg, "key_id", &id, err)) != 0 ||
        (ret = wtkms_config_require(cfg, "client_cert_file", &cert, err)) != 0 ||
        (ret = wtkms_config_require(cfg, "client_key_file", &key, err)) != 0)
        return (wtkms_err_prefix(err, "provider=kmip needs endpoint, key_id, client_cert_file "
                                      "and client_key_file"));
    if ((kk = calloc(1, sizeof(*kk))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    kk->iface.name = "kmip";
    kk->iface.wrap = kmip_wrap;
    kk->iface.unwrap = kmip_unwrap;
    kk->iface.describe = kmip_describe;
    kk->iface.matches = NULL; /* provider, key id and endpoint, exactly */
    kk->iface.free = kmip_free;
    if ((ret = wtkms_http_opts_from_config(cfg, &kk->opts, err)) != 0)
        goto err;
    if ((ret = parse_endpoint(kk, cfg->origin, ep, err)) != 0)
        goto err;
    if (strlen(id) > WTKMS_KMIP_MAX_UID) {
        ret = wtkms_errf(
          err, EINVAL, "%s: key_id is longer than %d characters", cfg->origin, WTKMS_KMIP_MAX_UID);
        goto err;
    }
    (void)snprintf(kk->key_id, sizeof(kk->key_id), "%s", id);
    if (snprintf(kk->cert_file, sizeof(kk->cert_file), "%s", cert) >= (int)sizeof(kk->cert_file) ||
        snprintf(kk->key_file, sizeof(kk->key_file), "%s", key) >= (int)sizeof(kk->key_file)) {
        ret =
          wtkms_errf(err, ENAMETOOLONG, "%s: client certificate or key path too long", cfg->origin);
        goto err;
    }
    if ((ret = check_file(cfg->origin, "client_cert_file", kk->cert_file, err)) != 0 ||
        (ret = load_client_key(kk, cfg->origin, err)) != 0 ||
        (kk->opts.ca_file[0] != '\0' &&
          (ret = check_file(cfg->origin, "ca_file", kk->opts.ca_file, err)) != 0))
        goto err;
    *kmsp = &kk->iface;
    return (0);
err:
    kmip_free(&kk->iface);
    return (ret);
}
