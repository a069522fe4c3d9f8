/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws.c -- the "aws" provider: the master key is an AWS KMS symmetric key.
 *
 * wrap is KMS Encrypt, unwrap is KMS Decrypt, each one signed POST of the KMS JSON API
 * (X-Amz-Target: TrentService.*, Content-Type application/x-amz-json-1.1) through http.c with
 * libcurl's SigV4. Both carry the encryption context {"wtkms": "keystore key"}, so a blob is
 * bound to its purpose and key policies can require it (kms:EncryptionContext:wtkms). Decrypt
 * names the configured key (KeyId), so AWS refuses a blob made under any other key.
 *
 * Blob: version byte 0x01 || the CiphertextBlob KMS returned.
 *
 * Errors branch on the answer's __type, never on the HTTP status alone (AccessDenied and
 * throttling are both 400): aws_errors.c. Credentials: aws_creds.c.
 */
#include <bson/bson.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_creds.h"
#include "aws_errors.h"
#include "b64.h"
#include "http.h"
#include "kms.h"

#define AWS_BLOB_VERSION 0x01
#define AWS_CIPHERTEXT_MAX 6144
#define AWS_CONTEXT_KEY "wtkms"
#define AWS_CONTEXT_VALUE "keystore key"

typedef struct {
    wtkms_kms iface; /* must come first */
    char key_id[512];
    char region[64];
    char endpoint[512];         /* as configured; "" = the regional default */
    char url[600];              /* where requests go */
    wtkms_aws_cred_settings cs; /* the credential chain's settings */
    wtkms_http_opts http;
    pthread_mutex_t lock; /* guards creds */
    wtkms_aws_creds *creds;
} aws_kms;

/*
 * aws_key_name --
 *     "AWS KMS key alias/x (us-east-1)" for messages.
 */
static void
aws_key_name(const aws_kms *ak, char *out, size_t outlen)
{
    (void)snprintf(out, outlen, "AWS KMS key %s (region %s%s%s)", ak->key_id, ak->region,
      ak->endpoint[0] ? ", endpoint " : "", ak->endpoint);
}

/*
 * aws_creds_get --
 *     Credentials good for the next call, resolving the chain when none are held or they expire
 *     soon. Returns with the lock held on success.
 */
static int
aws_creds_get(aws_kms *ak, wtkms_err *err)
{
    wtkms_aws_cred_cfg cc;
    int ret;

    (void)pthread_mutex_lock(&ak->lock);
    if (wtkms_aws_creds_fresh(ak->creds))
        return (0);
    wtkms_aws_cred_cfg_init(&cc, &ak->cs, ak->region, &ak->http);
    if ((ret = wtkms_aws_creds_resolve(&cc, ak->creds, err)) != 0) {
        (void)pthread_mutex_unlock(&ak->lock);
        return (ret);
    }
    return (0);
}

/*
 * aws_free_doc --
 *     Wipe (it may hold key material) and free a parsed answer or request.
 */
static void
aws_free_doc(bson_t *doc)
{
    if (doc == NULL)
        return;
    wtkms_wipe((void *)bson_get_data(doc), doc->len);
    bson_destroy(doc);
}

/*
 * aws_call --
 *     One KMS JSON call; *outp is the parsed answer on success (the caller wipes and frees).
 */
static int
aws_call(aws_kms *ak, const char *op, const bson_t *body, bson_t **outp, wtkms_err *err)
{
    wtkms_http_req req;
    wtkms_http_resp resp;
    bson_error_t berr;
    char target[64], sigv4[128], what[64], name[1200], source[600], quoted[120], *json;
    const char *headers[3];
    size_t json_len;
    int ret;

    *outp = NULL;
    memset(&resp, 0, sizeof(resp));
    aws_key_name(ak, name, sizeof(name));
    if ((json = bson_as_relaxed_extended_json(body, &json_len)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)snprintf(target, sizeof(target), "X-Amz-Target: TrentService.%s", op);
    (void)snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:kms", ak->region);
    (void)snprintf(what, sizeof(what), "AWS KMS %s", op);
    headers[0] = "Content-Type: application/x-amz-json-1.1";
    headers[1] = target;
    headers[2] = NULL;
    if ((ret = aws_creds_get(ak, err)) != 0) {
        ret = wtkms_err_prefix(err, "%s", name);
        goto done;
    }
    memset(&req, 0, sizeof(req));
    req.what = what;
    req.method = "POST";
    req.url = ak->url;
    req.setting = ak->endpoint[0] != '\0' ? "endpoint=" : "region= (the regional AWS endpoint)";
    req.headers = headers;
    req.body = json;
    req.body_len = json_len;
    req.sigv4 = sigv4;
    req.access_key = ak->creds->access_key;
    req.secret_key = ak->creds->secret;
    req.session_token = ak->creds->token[0] != '\0' ? ak->creds->token : NULL;
    req.max_body = 64 * 1024;
    req.classify = wtkms_aws_classify;
    (void)snprintf(source, sizeof(source), "%s", ak->creds->source);
    ret = wtkms_http_request(&ak->http, &req, &resp, err);
    (void)pthread_mutex_unlock(&ak->lock);
    if (ret != 0) {
        ret = wtkms_err_prefix(err, "%s", name);
        goto done;
    }
    if (resp.status != 200) {
        ret = wtkms_aws_http_error(name, ak->key_id, ak->url, op, &resp, source, err);
        goto done;
    }
    if ((*outp = bson_new_from_json((const uint8_t *)resp.body, (ssize_t)resp.body_len, &berr)) ==
        NULL) {
        wtkms_http_body_excerpt(&resp, quoted, sizeof(quoted));
        ret = wtkms_errf(err, EPROTO,
          "%s: AWS KMS %s answered HTTP 200 with a body that is not JSON (%s): check endpoint= "
          "and proxy=",
          name, op, quoted);
    } else if (bson_has_field(*outp, "__type")) {
        /* An error in a 200 answer (some proxies and emulators): report the error it carries. */
        ret = wtkms_aws_http_error(name, ak->key_id, ak->url, op, &resp, source, err);
        aws_free_doc(*outp);
        *outp = NULL;
    }
done:
    wtkms_http_resp_free(&resp);
    wtkms_wipe(json, json_len);
    bson_free(json);
    return (ret);
}

/*
 * aws_describe --
 *     The configured key.
 */
static void
aws_describe(wtkms_kms *kms, wtkms_kms_desc *desc)
{
    aws_kms *ak = (aws_kms *)kms;

    memset(desc, 0, sizeof(*desc));
    (void)snprintf(desc->provider, sizeof(desc->provider), "aws");
    (void)snprintf(desc->key_id, sizeof(desc->key_id), "%s", ak->key_id);
    (void)snprintf(desc->endpoint, sizeof(desc->endpoint), "%s", ak->endpoint);
    (void)snprintf(desc->region, sizeof(desc->region), "%s", ak->region);
}

/*
 * aws_matches --
 *     The same key: same region, and key_id equal to the stored key_id, its ARN, or the key id
 *     inside that ARN. The endpoint may differ (moving to a FIPS or VPC endpoint of the same
 *     region reaches the same key, and Decrypt with KeyId refuses any other).
 */
static int
aws_matches(wtkms_kms *kms, const wtkms_kms_desc *stored, wtkms_err *err)
{
    aws_kms *ak = (aws_kms *)kms;
    const char *tail;

    if (strcmp(stored->provider, "aws") != 0)
        return (wtkms_errf(err, EKEYREJECTED,
          "this was made under a %s master key (%s), but the configuration names AWS KMS key %s: "
          "configure provider=%s with that key, or rotate with 'wtkms keys rotate'",
          stored->provider, stored->key_id, ak->key_id, stored->provider));
    if (strcmp(stored->region, ak->region) != 0)
        return (wtkms_errf(err, EKEYREJECTED,
          "this was made under AWS KMS key %s in region %s, but the configuration says region=%s: "
          "set region=%s",
          stored->key_id, stored->region, ak->region, stored->region));
    tail = strstr(stored->key_version, ":key/");
    if (strcmp(stored->key_id, ak->key_id) == 0 ||
        (stored->key_version[0] != '\0' && strcmp(stored->key_version, ak->key_id) == 0) ||
        (tail != NULL && strcmp(tail + 5, ak->key_id) == 0))
        return (0);
    return (wtkms_errf(err, EKEYREJECTED,
      "this was made under AWS KMS key %s (%s), but the configuration says key_id=%s: configure "
      "the original key, or rotate with 'wtkms keys rotate'",
      stored->key_id, stored->key_version[0] ? stored->key_version : "no ARN recorded",
      ak->key_id));
}

/*
 * aws_wrap --
 *     KMS Encrypt.
 */
static int
aws_wrap(wtkms_kms *kms, const uint8_t key[WTKMS_KEY_LEN], uint8_t **blobp, size_t *blob_lenp,
  wtkms_kms_desc *desc, wtkms_err *err)
{
    aws_kms *ak = (aws_kms *)kms;
    bson_iter_t it;
    bson_t body, ctx, *out;
    uint8_t *blob;
    const char *b64, *arn;
    char name[1200], pt[64];
    uint32_t b64_len, arn_len;
    size_t n;
    int ret;

    *blobp = NULL;
    out = NULL;
    blob = NULL;
    aws_key_name(ak, name, sizeof(name));
    (void)wtkms_b64_encode(key, WTKMS_KEY_LEN, false, pt, sizeof(pt));
    bson_init(&body);
    BSON_APPEND_UTF8(&body, "KeyId", ak->key_id);
    BSON_APPEND_UTF8(&body, "Plaintext", pt);
    BSON_APPEND_DOCUMENT_BEGIN(&body, "EncryptionContext", &ctx);
    BSON_APPEND_UTF8(&ctx, AWS_CONTEXT_KEY, AWS_CONTEXT_VALUE);
    bson_append_document_end(&body, &ctx);
    wtkms_wipe(pt, sizeof(pt));
    ret = aws_call(ak, "Encrypt", &body, &out, err);
    wtkms_wipe((void *)bson_get_data(&body), body.len);
    bson_destroy(&body);
    wtkms_wipe(&body, sizeof(body)); /* the inline buffer held the start of the plaintext */
    if (ret != 0)
        return (ret);

    if (!bson_iter_init_find(&it, out, "CiphertextBlob") || !BSON_ITER_HOLDS_UTF8(&it)) {
        ret = wtkms_errf(err, EPROTO, "%s: the Encrypt answer has no CiphertextBlob", name);
        goto err;
    }
    b64 = bson_iter_utf8(&it, &b64_len);
    if ((blob = malloc(1 + AWS_CIPHERTEXT_MAX + 3)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    blob[0] = AWS_BLOB_VERSION;
    if (wtkms_b64_decode(b64, b64_len, blob + 1, AWS_CIPHERTEXT_MAX + 3, &n) != 0 || n == 0 ||
        n > AWS_CIPHERTEXT_MAX) {
        ret = wtkms_errf(
          err, EPROTO, "%s: the Encrypt answer's CiphertextBlob is not base64 of a blob", name);
        goto err;
    }
    aws_describe(kms, desc);
    if (bson_iter_init_find(&it, out, "KeyId") && BSON_ITER_HOLDS_UTF8(&it)) {
        arn = bson_iter_utf8(&it, &arn_len);
        (void)snprintf(desc->key_version, sizeof(desc->key_version), "%s", arn);
    }
    aws_free_doc(out);
    *blobp = blob;
    *blob_lenp = 1 + n;
    return (0);
err:
    free(blob);
    aws_free_doc(out);
    return (ret);
}

/*
 * aws_unwrap --
 *     KMS Decrypt, naming the configured key.
 */
static int
aws_unwrap(wtkms_kms *kms, const uint8_t *blob, size_t blob_len, const wtkms_kms_desc *stored,
  wtkms_key **keyp, wtkms_err *err)
{
    aws_kms *ak = (aws_kms *)kms;
    bson_iter_t it;
    bson_t body, ctx, *out;
    wtkms_key *k;
    const char *b64;
    char name[1200], *ct, pt[WTKMS_KEY_LEN + 8];
    uint32_t b64_len;
    size_t n;
    int ret;

    (void)stored;
    *keyp = NULL;
    out = NULL;
    k = NULL;
    aws_key_name(ak, name, sizeof(name));
    if (blob_len < 2 || blob_len > 1 + AWS_CIPHERTEXT_MAX || blob[0] != AWS_BLOB_VERSION)
        return (wtkms_errf(err, EKEYREJECTED,
          "%s: the wrapped key (%zu bytes, version %u) was not made by the aws provider", name,
          blob_len, blob_len > 0 ? blob[0] : 0));
    if ((ct = malloc(WTKMS_B64_LEN(blob_len - 1))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)wtkms_b64_encode(blob + 1, blob_len - 1, false, ct, WTKMS_B64_LEN(blob_len - 1));
    bson_init(&body);
    BSON_APPEND_UTF8(&body, "CiphertextBlob", ct);
    BSON_APPEND_UTF8(&body, "KeyId", ak->key_id);
    BSON_APPEND_DOCUMENT_BEGIN(&body, "EncryptionContext", &ctx);
    BSON_APPEND_UTF8(&ctx, AWS_CONTEXT_KEY, AWS_CONTEXT_VALUE);
    bson_append_document_end(&body, &ctx);
    free(ct);
    ret = aws_call(ak, "Decrypt", &body, &out, err);
    bson_destroy(&body);
    if (ret != 0)
        return (ret);

    if (!bson_iter_init_find(&it, out, "Plaintext") || !BSON_ITER_HOLDS_UTF8(&it)) {
        ret = wtkms_errf(err, EPROTO, "%s: the Decrypt answer has no Plaintext", name);
        goto err;
    }
    b64 = bson_iter_utf8(&it, &b64_len);
    if (wtkms_b64_decode(b64, b64_len, (uint8_t *)pt, sizeof(pt), &n) != 0 || n != WTKMS_KEY_LEN) {
        wtkms_wipe(pt, sizeof(pt));
        ret = wtkms_errf(err, EPROTO,
          "%s: the Decrypt answer's Plaintext is not a base64 32-byte key: check endpoint= and "
          "proxy=",
          name);
        goto err;
    }
    if ((k = wtkms_key_new()) == NULL) {
        wtkms_wipe(pt, sizeof(pt));
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    memcpy(k->b, pt, WTKMS_KEY_LEN);
    wtkms_wipe(pt, sizeof(pt));
    aws_free_doc(out);
    *keyp = k;
    return (0);
err:
    aws_free_doc(out);
    return (ret);
}

/*
 * aws_free --
 *     Wipe and free.
 */
static void
aws_free(wtkms_kms *kms)
{
    aws_kms *ak = (aws_kms *)kms;

    wtkms_aws_creds_free(ak->creds);
    (void)pthread_mutex_destroy(&ak->lock);
    free(ak);
}

/*
 * aws_region_of_arn --
 *     The region inside "arn:aws:kms:REGION:ACCOUNT:key/ID", or "".
 */
static void
aws_region_of_arn(const char *arn, char *out, size_t outlen)
{
    const char *p, *e;

    out[0] = '\0';
    if (strncmp(arn, "arn:", 4) != 0)
        return;
    /* arn : partition : service : region : */
    if ((p = strchr(arn + 4, ':')) == NULL || (p = strchr(p + 1, ':')) == NULL)
        return;
    p++;
    if ((e = strchr(p, ':')) == NULL || e == p || (size_t)(e - p) >= outlen)
        return;
    (void)snprintf(out, outlen, "%.*s", (int)(e - p), p);
}

/*
 * wtkms_kms_aws_open --
 *     Build the aws provider from its settings.
 */
int
wtkms_kms_aws_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err)
{
    aws_kms *ak;
    const char *key_id, *env;
    char arn_region[64];
    size_t n;
    int ret;

    *kmsp = NULL;
    if ((ret = wtkms_config_require(cfg, "key_id", &key_id, err)) != 0)
        return (ret);
    if ((ak = calloc(1, sizeof(*ak))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ak->iface.name = "aws";
    ak->iface.wrap = aws_wrap;
    ak->iface.unwrap = aws_unwrap;
    ak->iface.describe = aws_describe;
    ak->iface.matches = aws_matches;
    ak->iface.free = aws_free;
    (void)pthread_mutex_init(&ak->lock, NULL);
    if (wtkms_aws_creds_new(&ak->creds) != 0) {
        (void)pthread_mutex_destroy(&ak->lock);
        free(ak);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    if (snprintf(ak->key_id, sizeof(ak->key_id), "%s", key_id) >= (int)sizeof(ak->key_id)) {
        ret = wtkms_errf(err, ENAMETOOLONG, "%s: key_id is too long", cfg->origin);
        goto err;
    }
    if ((ret = wtkms_config_copy(cfg, "region", ak->region, sizeof(ak->region), err)) != 0 ||
        (ret = wtkms_config_copy(cfg, "endpoint", ak->endpoint, sizeof(ak->endpoint), err)) != 0 ||
        (ret = wtkms_aws_cred_settings_read(cfg, "", true, &ak->cs, err)) != 0 ||
        (ret = wtkms_http_opts_from_config(cfg, &ak->http, err)) != 0)
        goto err;

    /* The region: the setting, else the key ARN's, else the environment's, as the SDKs do. */
    aws_region_of_arn(ak->key_id, arn_region, sizeof(arn_region));
    if (ak->region[0] == '\0') {
        if (arn_region[0] != '\0')
            (void)snprintf(ak->region, sizeof(ak->region), "%s", arn_region);
        else if (((env = getenv("AWS_REGION")) != NULL && env[0] != '\0') ||
                 ((env = getenv("AWS_DEFAULT_REGION")) != NULL && env[0] != '\0'))
            (void)snprintf(ak->region, sizeof(ak->region), "%s", env);
        else {
            ret = wtkms_errf(err, EINVAL,
              "%s: provider=aws needs region= (or a key ARN, or AWS_REGION in the environment)",
              cfg->origin);
            goto err;
        }
    } else if (arn_region[0] != '\0' && strcmp(arn_region, ak->region) != 0) {
        ret = wtkms_errf(err, EINVAL, "%s: key_id is an ARN in region %s but region=%s",
          cfg->origin, arn_region, ak->region);
        goto err;
    }
    if (strspn(ak->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(ak->region)) {
        ret = wtkms_errf(
          err, EINVAL, "%s: region=%s is not an AWS region name", cfg->origin, ak->region);
        goto err;
    }
    if (ak->endpoint[0] != '\0') {
        if ((ret = wtkms_http_check_endpoint(cfg->origin, "endpoint", ak->endpoint, err)) != 0)
            goto err;
        /* Normalise: no trailing slash in the descriptor, one in the request URL. */
        while ((n = strlen(ak->endpoint)) > 0 && ak->endpoint[n - 1] == '/')
            ak->endpoint[n - 1] = '\0';
        (void)snprintf(ak->url, sizeof(ak->url), "%s/", ak->endpoint);
    } else
        (void)snprintf(ak->url, sizeof(ak->url), "https://kms.%s.amazonaws.com/", ak->region);
    *kmsp = &ak->iface;
    return (0);
err:
    aws_free(&ak->iface);
    return (ret);
}
