/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gcp.c -- the "gcp" provider: the master key is a symmetric key in Google Cloud KMS; wrap and
 * unwrap are its :encrypt and :decrypt, with a fixed additional authenticated data.
 *
 * Encrypt uses the key's primary version and the answer names it: that version is recorded
 * (desc.key_version). Decrypt needs no version (the ciphertext carries it). Rotating the key in
 * Cloud KMS (a new primary version) and then running "wtkms keys rotate" moves the keystore to
 * the new version; older versions must stay enabled for whatever still depends on them.
 *
 * Credentials, first match wins:
 *   1. service_account_file=PATH: a service-account key file (JSON); the token comes from a JWT
 *      bearer grant (RFC 7523) signed RS256 with the file's private key, sent to the file's
 *      token_uri (or the token_uri setting)
 *   2. GOOGLE_APPLICATION_CREDENTIALS naming such a file
 *   3. the metadata server of the instance (GCE, GKE workload identity, Cloud Run), at
 *      GCE_METADATA_HOST when set (default 169.254.169.254)
 * The token is cached in the provider until 5 minutes before it expires; a 401 drops it and asks
 * once for a new one. The key file is read when a token is needed and wiped after.
 *
 * Blob: version byte 0x01 || the Cloud KMS ciphertext.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "fileio.h"
#include "http.h"
#include "kms.h"
#include "oauth.h"

#define GCP_BLOB_VERSION 0x01
#define GCP_MAX_CT 4096
#define GCP_DEFAULT_ENDPOINT "https://cloudkms.googleapis.com"
#define GCP_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GCP_DEFAULT_METADATA "169.254.169.254"
#define GCP_SCOPE "https://www.googleapis.com/auth/cloudkms"

static const char gcp_aad[] = "wtkms gcp wrap v1";
static const char *const gcp_hdr_json[] = { "Content-Type: application/json", NULL };
static const char *const gcp_hdr_form[] = { "Content-Type: application/x-www-form-urlencoded",
    NULL };
static const char *const gcp_hdr_metadata[] = { "Metadata-Flavor: Google", NULL };

typedef enum { GCP_SA_FILE, GCP_SA_ENV, GCP_METADATA } gcp_cred;

typedef struct {
    wtkms_kms iface; /* must come first */
    char key_name[512];
    char location[64];
    char endpoint[512]; /* configured; "" = Google's */
    char base[512];     /* the one used */
    char sa_file[1024];
    char label[540];     /* "Cloud KMS key NAME", for messages */
    char token_uri[512]; /* override; "" = the key file's */
    char metadata_host[256];
    gcp_cred cred;
    char cred_desc[1200];
    wtkms_http_opts opts;
    wtkms_token token;
} gcp_kms;

/* What a Cloud KMS call answered, when it failed. */
typedef struct {
    long status;
    int attempts;
    char code[64], message[400];
} gcp_failure;

/*
 * gcp_token_fetch --
 *     A Cloud KMS token from the service account's key or the metadata server.
 */
static int
gcp_token_fetch(void *arg, wtkms_err *err)
{
    gcp_kms *gk = arg;
    wtkms_token_src src;
    wtkms_http_req req;
    wtkms_dbuf body, url;
    bson_t sa, hdr, claims;
    EVP_PKEY *pkey;
    const char *path, *type, *email, *pem, *kid, *turi;
    char *file, *jwt, turi_buf[512];
    size_t file_len;
    uint32_t pem_len;
    int64_t now;
    int ret;

    memset(&req, 0, sizeof(req));
    memset(&body, 0, sizeof(body));
    memset(&url, 0, sizeof(url));
    bson_init(&sa);
    file = jwt = NULL;
    file_len = 0;
    pkey = NULL;

    if (gk->cred == GCP_METADATA) {
        req.what = "GCP metadata server token request";
        wtkms_dbuf_str(&url, "http://");
        wtkms_dbuf_str(&url, gk->metadata_host);
        wtkms_dbuf_str(&url, "/computeMetadata/v1/instance/service-accounts/default/token?");
        wtkms_http_form_add(&url, "scopes", GCP_SCOPE);
        req.method = "GET";
        req.headers = gcp_hdr_metadata;
        req.no_proxy = true;
        req.metadata = true;
    } else {
        req.what = "Google OAuth token request";
        path = gk->sa_file;
        if ((ret = wtkms_read_private_file(
               path, "service account key file", 64 * 1024, &file, &file_len, err)) != 0) {
            wtkms_err_prefix(err, "gcp");
            goto done;
        }
        bson_destroy(&sa);
        if (wtkms_json_parse(file, file_len, &sa) != 0 ||
            (type = wtkms_json_str(&sa, "type", NULL)) == NULL ||
            strcmp(type, "service_account") != 0 ||
            (email = wtkms_json_str(&sa, "client_email", NULL)) == NULL ||
            (pem = wtkms_json_str(&sa, "private_key", &pem_len)) == NULL) {
            ret = wtkms_errf(err, EACCES,
              "gcp: %s is not a service account key file (JSON with type \"service_account\", "
              "client_email and private_key): create one with 'gcloud iam service-accounts keys "
              "create'",
              path);
            goto done;
        }
        if (wtkms_pem_private_key(pem, pem_len, &pkey) != 0) {
            ret = wtkms_errf(
              err, EACCES, "gcp: the private_key in %s cannot be read as a PEM RSA key", path);
            goto done;
        }
        turi = gk->token_uri[0] != '\0' ? gk->token_uri : wtkms_json_str(&sa, "token_uri", NULL);
        if (turi == NULL || turi[0] == '\0')
            turi = GCP_DEFAULT_TOKEN_URI;
        if (strncasecmp(turi, "https://", 8) != 0) {
            ret = wtkms_errf(err, EINVAL,
              "gcp: token_uri %s (from %s) must start with https://: the signed grant is a "
              "credential",
              turi, gk->token_uri[0] != '\0' ? "the token_uri setting" : path);
            goto done;
        }
        (void)snprintf(turi_buf, sizeof(turi_buf), "%s", turi);
        now = (int64_t)time(NULL);
        bson_init(&hdr);
        BSON_APPEND_UTF8(&hdr, "alg", "RS256");
        BSON_APPEND_UTF8(&hdr, "typ", "JWT");
        if ((kid = wtkms_json_str(&sa, "private_key_id", NULL)) != NULL)
            BSON_APPEND_UTF8(&hdr, "kid", kid);
        bson_init(&claims);
        BSON_APPEND_UTF8(&claims, "iss", email);
        BSON_APPEND_UTF8(&claims, "scope", GCP_SCOPE);
        /*
         * The audience is Google's token URL even when the grant goes to another token_uri (a
         * private endpoint): Google documents it so, and google-auth sends exactly that.
         */
        BSON_APPEND_UTF8(&claims, "aud", GCP_DEFAULT_TOKEN_URI);
        BSON_APPEND_INT64(&claims, "iat", now);
        BSON_APPEND_INT64(&claims, "exp", now + 3600);
        ret = wtkms_jwt_rs256(pkey, &hdr, &claims, &jwt, err);
        bson_destroy(&hdr);
        bson_destroy(&claims);
        if (ret != 0) {
            wtkms_err_prefix(err, "gcp: service account key %s", path);
            goto done;
        }
        wtkms_dbuf_str(&url, turi_buf);
        wtkms_http_form_add(&body, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
        wtkms_http_form_add(&body, "assertion", jwt);
        req.method = "POST";
        req.headers = gcp_hdr_form;
        req.body = body.s;
        req.body_len = body.len;
    }
    if (url.error != 0 || body.error != 0) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto done;
    }
    req.url = url.s;
    req.setting = gk->cred == GCP_METADATA ? "GCE_METADATA_HOST" : "token_uri=";
    req.max_body = 256 * 1024;
    memset(&src, 0, sizeof(src));
    src.opts = &gk->opts;
    src.provider = "gcp";
    src.cred_desc = gk->cred_desc;
    src.refused_hint =
      gk->cred == GCP_METADATA
        ? "check that the instance has a service account with the cloudkms scope"
        : "check that the service account and this key of it still exist and are enabled, or "
          "create a new key";
    ret = wtkms_token_request(&src, &req, &gk->token, err);
done:
    wtkms_bson_wipe(&sa);
    wtkms_dbuf_free(&body);
    wtkms_dbuf_free(&url);
    if (file != NULL) {
        wtkms_wipe(file, file_len);
        free(file);
    }
    if (jwt != NULL) {
        wtkms_wipe(jwt, strlen(jwt));
        free(jwt);
    }
    EVP_PKEY_free(pkey);
    return (ret);
}

/*
 * gcp_call --
 *     POST {base}/v1/{key_name}:{op} with the cached token (a 401 on a cached token fetches a new
 *     one and tries once more). Returns 0 when Cloud KMS answered: *doc holds the answer and
 *     fail->status its status.
 */
static int
gcp_call(gcp_kms *gk, const char *what, const char *op, const char *body, size_t body_len,
  bson_t *doc, gcp_failure *fail, wtkms_err *err)
{
    wtkms_bearer bearer = { &gk->opts, &gk->token, gcp_token_fetch, gk, gk->label, gk->base,
        "endpoint=", gcp_hdr_json };
    char url[1200];
    int ret;

    memset(fail, 0, sizeof(*fail));
    (void)snprintf(url, sizeof(url), "%s/v1/%s:%s", gk->base, gk->key_name, op);
    if ((ret = wtkms_bearer_call(&bearer, what, "POST", url, body, body_len, doc, &fail->status,
           &fail->attempts, err)) != 0 ||
        fail->status == 200)
        return (ret);
    /* {"error": {"code": 400, "message": "...", "status": "FAILED_PRECONDITION"}} */
    wtkms_json_printable(doc, "error.status", fail->code, sizeof(fail->code));
    wtkms_json_printable(doc, "error.message", fail->message, sizeof(fail->message));
    return (0);
}

/*
 * gcp_error --
 *     A failed Cloud KMS answer, in words a DBA can act on.
 */
static int
gcp_error(gcp_kms *gk, const char *op, const gcp_failure *f, wtkms_err *err)
{
    char detail[500];

    (void)snprintf(detail, sizeof(detail), "HTTP %ld%s%s%s%s", f->status,
      f->code[0] != '\0' ? " " : "", f->code, f->message[0] != '\0' ? ": " : "", f->message);
    if (strcmp(f->code, "FAILED_PRECONDITION") == 0) {
        if (strstr(f->message, "DESTROY_SCHEDULED") != NULL)
            return (wtkms_errf(err, EKEYEXPIRED,
              "Cloud KMS key %s: the key version is scheduled for destruction (%s): restore it "
              "(gcloud kms keys versions restore) before it is destroyed, then enable it",
              gk->key_name, detail));
        if (strstr(f->message, "DESTROYED") != NULL)
            return (wtkms_errf(err, ENOKEY,
              "Cloud KMS key %s: the key version is destroyed (%s): data wrapped under it "
              "cannot be recovered",
              gk->key_name, detail));
        return (wtkms_errf(err, EKEYREVOKED,
          "Cloud KMS key %s: the key version is disabled (%s): enable it (gcloud kms keys "
          "versions enable VERSION --key KEY --keyring RING --location %s), then retry",
          gk->key_name, detail, gk->location));
    }
    if (strcmp(f->code, "NOT_FOUND") == 0 || f->status == 404)
        return (wtkms_errf(err, ENOKEY,
          "Cloud KMS key %s does not exist (%s): check key_name; a deleted key cannot be "
          "recovered",
          gk->key_name, detail));
    if (strcmp(f->code, "PERMISSION_DENIED") == 0 || f->status == 403)
        return (wtkms_errf(err, EACCES,
          "Cloud KMS key %s: %s may not %s (%s): grant it "
          "roles/cloudkms.cryptoKeyEncrypterDecrypter "
          "on the key (cloudkms.cryptoKeyVersions.useToEncrypt and useToDecrypt)",
          gk->key_name, gk->cred_desc, op, detail));
    if (strcmp(f->code, "UNAUTHENTICATED") == 0 || f->status == 401)
        return (wtkms_errf(err, EACCES,
          "Cloud KMS key %s: the token of %s was not accepted (%s): check the credential",
          gk->key_name, gk->cred_desc, detail));
    if ((strcmp(f->code, "INVALID_ARGUMENT") == 0 || f->status == 400) &&
        strcmp(op, "decrypt") == 0)
        return (wtkms_errf(err, EKEYREJECTED,
          "Cloud KMS key %s cannot unwrap this key (%s): it was wrapped under another key or "
          "altered; configure the key it was made under",
          gk->key_name, detail));
    if (f->status == 429)
        return (wtkms_errf(err, EAGAIN,
          "Cloud KMS key %s: quota exceeded (%s) after %d attempt%s: retry later, or raise "
          "max_retries/deadline_ms",
          gk->key_name, detail, f->attempts, f->attempts == 1 ? "" : "s"));
    if (f->status >= 500)
        return (wtkms_errf(err, EAGAIN,
          "Cloud KMS key %s: %s failed (%s): the service failed after %d attempt%s; retry later",
          gk->key_name, op, detail, f->attempts, f->attempts == 1 ? "" : "s"));
    return (wtkms_errf(err, EPROTO, "Cloud KMS key %s: %s failed (%s)", gk->key_name, op, detail));
}

/*
 * gcp_describe --
 *     The configured key.
 */
static void
gcp_describe(wtkms_kms *kms, wtkms_kms_desc *desc)
{
    gcp_kms *gk = (gcp_kms *)kms;

    memset(desc, 0, sizeof(*desc));
    (void)snprintf(desc->provider, sizeof(desc->provider), "gcp");
    (void)snprintf(desc->key_id, sizeof(desc->key_id), "%s", gk->key_name);
    (void)snprintf(desc->endpoint, sizeof(desc->endpoint), "%s", gk->endpoint);
    (void)snprintf(desc->region, sizeof(desc->region), "%s", gk->location);
}

/*
 * gcp_request_body --
 *     {"<field>": base64(data), "additionalAuthenticatedData": base64(aad)} as JSON.
 */
static char *
gcp_request_body(const char *field, const uint8_t *data, size_t len, size_t *json_lenp)
{
    bson_t doc;
    char *b64, aad[WTKMS_B64_LEN(sizeof(gcp_aad))], *json;
    size_t b64len;

    b64len = WTKMS_B64_LEN(len);
    if ((b64 = malloc(b64len)) == NULL)
        return (NULL);
    (void)wtkms_b64_encode(data, len, false, b64, b64len);
    (void)wtkms_b64_encode((const uint8_t *)gcp_aad, sizeof(gcp_aad) - 1, false, aad, sizeof(aad));
    bson_init(&doc);
    BSON_APPEND_UTF8(&doc, field, b64);
    BSON_APPEND_UTF8(&doc, "additionalAuthenticatedData", aad);
    wtkms_wipe(b64, b64len);
    free(b64);
    json = wtkms_json_text(&doc, json_lenp);
    wtkms_bson_wipe(&doc);
    return (json);
}

/*
 * gcp_wrap --
 *     :encrypt under the primary version, which the answer names.
 */
static int
gcp_wrap(wtkms_kms *kms, const uint8_t key[WTKMS_KEY_LEN], uint8_t **blobp, size_t *blob_lenp,
  wtkms_kms_desc *desc, wtkms_err *err)
{
    gcp_kms *gk = (gcp_kms *)kms;
    gcp_failure fail;
    bson_t doc;
    const char *name, *ct;
    char *json, prefix[600];
    uint8_t *blob;
    size_t json_len, ct_len, plen;
    uint32_t name_len, len;
    int ret;

    *blobp = NULL;
    blob = NULL;
    if ((json = gcp_request_body("plaintext", key, WTKMS_KEY_LEN, &json_len)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ret = gcp_call(gk, "Encrypt", "encrypt", json, json_len, &doc, &fail, err);
    wtkms_wipe(json, json_len);
    bson_free(json);
    if (ret != 0 || fail.status != 200) {
        if (ret == 0)
            ret = gcp_error(gk, "encrypt", &fail, err);
        wtkms_bson_wipe(&doc);
        return (ret);
    }
    (void)snprintf(prefix, sizeof(prefix), "%s/cryptoKeyVersions/", gk->key_name);
    plen = strlen(prefix);
    ret = EPROTO;
    if ((name = wtkms_json_str(&doc, "name", &name_len)) != NULL && name_len > plen &&
        strncmp(name, prefix, plen) == 0 && name_len - plen < sizeof(desc->key_version) &&
        (ct = wtkms_json_str(&doc, "ciphertext", &len)) != NULL &&
        (blob = malloc(1 + GCP_MAX_CT)) != NULL &&
        wtkms_b64_decode(ct, len, blob + 1, GCP_MAX_CT, &ct_len) == 0 && ct_len > 0) {
        blob[0] = GCP_BLOB_VERSION;
        gcp_describe(kms, desc);
        memcpy(desc->key_version, name + plen, name_len - plen);
        desc->key_version[name_len - plen] = '\0';
        *blobp = blob;
        *blob_lenp = 1 + ct_len;
        blob = NULL;
        ret = 0;
    }
    wtkms_bson_wipe(&doc);
    free(blob);
    if (ret != 0)
        return (wtkms_errf(err, EPROTO,
          "Cloud KMS key %s: the encrypt answer lacks the ciphertext or the version of this "
          "key that made it",
          gk->key_name));
    return (0);
}

/*
 * gcp_unwrap --
 *     :decrypt (the ciphertext names its version).
 */
static int
gcp_unwrap(wtkms_kms *kms, const uint8_t *blob, size_t blob_len, const wtkms_kms_desc *stored,
  wtkms_key **keyp, wtkms_err *err)
{
    gcp_kms *gk = (gcp_kms *)kms;
    gcp_failure fail;
    bson_t doc;
    wtkms_key *k;
    const char *pt;
    char *json;
    uint8_t buf[64];
    size_t json_len, pt_len;
    uint32_t len;
    int ret;

    (void)stored;
    *keyp = NULL;
    if (blob_len < 2 || blob_len > 1 + GCP_MAX_CT || blob[0] != GCP_BLOB_VERSION)
        return (wtkms_errf(err, EKEYREJECTED,
          "Cloud KMS key %s: the wrapped key is %zu bytes with version %u: it was not made by "
          "the gcp provider",
          gk->key_name, blob_len, blob_len > 0 ? blob[0] : 0));
    if ((json = gcp_request_body("ciphertext", blob + 1, blob_len - 1, &json_len)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ret = gcp_call(gk, "Decrypt", "decrypt", json, json_len, &doc, &fail, err);
    wtkms_wipe(json, json_len);
    bson_free(json);
    if (ret != 0 || fail.status != 200) {
        if (ret == 0)
            ret = gcp_error(gk, "decrypt", &fail, err);
        wtkms_bson_wipe(&doc);
        return (ret);
    }
    ret = EPROTO;
    if ((pt = wtkms_json_str(&doc, "plaintext", &len)) != NULL &&
        wtkms_b64_decode(pt, len, buf, sizeof(buf), &pt_len) == 0 && pt_len == WTKMS_KEY_LEN)
        ret = 0;
    wtkms_bson_wipe(&doc);
    if (ret != 0) {
        wtkms_wipe(buf, sizeof(buf));
        return (wtkms_errf(err, EPROTO,
          "Cloud KMS key %s: the decrypt answer does not carry a %d-byte key", gk->key_name,
          WTKMS_KEY_LEN));
    }
    if ((k = wtkms_key_new()) == NULL) {
        wtkms_wipe(buf, sizeof(buf));
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    memcpy(k->b, buf, WTKMS_KEY_LEN);
    wtkms_wipe(buf, sizeof(buf));
    *keyp = k;
    return (0);
}

/*
 * gcp_free --
 *     Forget the token, free.
 */
static void
gcp_free(wtkms_kms *kms)
{
    gcp_kms *gk = (gcp_kms *)kms;

    wtkms_token_clear(&gk->token);
    free(gk);
}

/*
 * parse_key_name --
 *     projects/P/locations/L/keyRings/R/cryptoKeys/K; keeps L.
 */
static int
parse_key_name(gcp_kms *gk, const char *origin, const char *name, wtkms_err *err)
{
    static const char *const parts[] = { "projects", "locations", "keyRings", "cryptoKeys" };
    const char *p, *seg;
    size_t n, i;

    if (snprintf(gk->key_name, sizeof(gk->key_name), "%s", name) >= (int)sizeof(gk->key_name))
        return (wtkms_errf(err, ENAMETOOLONG, "%s: key_name is too long", origin));
    p = name;
    for (i = 0; i < 4; i++) {
        n = strlen(parts[i]);
        if (strncmp(p, parts[i], n) != 0 || p[n] != '/')
            goto bad;
        seg = p + n + 1;
        n = strcspn(seg, "/");
        if (n == 0 ||
            strspn(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") < n)
            goto bad;
        if (i == 1 && snprintf(gk->location, sizeof(gk->location), "%.*s", (int)n, seg) >=
                        (int)sizeof(gk->location))
            goto bad;
        p = seg + n;
        if (i < 3) {
            if (*p != '/')
                goto bad;
            p++;
        }
    }
    if (*p == '\0')
        return (0);
bad:
    return (wtkms_errf(err, EINVAL,
      "%s: key_name=%s must be projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY "
      "(without a cryptoKeyVersions part)",
      origin, name));
}

/*
 * wtkms_kms_gcp_open --
 *     Build the GCP provider and choose its credential (no I/O).
 */
int
wtkms_kms_gcp_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err)
{
    gcp_kms *gk;
    const char *name, *v, *o;
    size_t n;
    int ret;

    *kmsp = NULL;
    if ((ret = wtkms_config_require(cfg, "key_name", &name, err)) != 0)
        return (wtkms_err_prefix(err, "provider=gcp needs key_name"));
    if ((gk = calloc(1, sizeof(*gk))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    gk->iface.name = "gcp";
    gk->iface.wrap = gcp_wrap;
    gk->iface.unwrap = gcp_unwrap;
    gk->iface.describe = gcp_describe;
    gk->iface.matches = NULL; /* provider, key name, endpoint and location, exactly */
    gk->iface.free = gcp_free;
    o = cfg->origin;
    if ((ret = wtkms_http_opts_from_config(cfg, &gk->opts, err)) != 0 ||
        (ret = parse_key_name(gk, o, name, err)) != 0)
        goto err;
    (void)snprintf(gk->label, sizeof(gk->label), "Cloud KMS key %s", gk->key_name);
    if ((v = wtkms_config_get(cfg, "endpoint")) != NULL && v[0] != '\0') {
        if (strncasecmp(v, "https://", 8) != 0) {
            ret = wtkms_errf(err, EINVAL,
              "%s: endpoint=%s must start with https:// (a bearer token is sent to it)", o, v);
            goto err;
        }
        if (snprintf(gk->endpoint, sizeof(gk->endpoint), "%s", v) >= (int)sizeof(gk->endpoint)) {
            ret = wtkms_errf(err, ENAMETOOLONG, "%s: endpoint is too long", o);
            goto err;
        }
        while ((n = strlen(gk->endpoint)) > 8 && gk->endpoint[n - 1] == '/')
            gk->endpoint[n - 1] = '\0';
    }
    (void)snprintf(gk->base, sizeof(gk->base), "%s",
      gk->endpoint[0] != '\0' ? gk->endpoint : GCP_DEFAULT_ENDPOINT);
    if ((v = wtkms_config_get(cfg, "token_uri")) != NULL &&
        snprintf(gk->token_uri, sizeof(gk->token_uri), "%s", v) >= (int)sizeof(gk->token_uri)) {
        ret = wtkms_errf(err, ENAMETOOLONG, "%s: token_uri is too long", o);
        goto err;
    }

    /* The credential, in the documented order. */
    if ((v = wtkms_config_get(cfg, "service_account_file")) != NULL && v[0] != '\0')
        gk->cred = GCP_SA_FILE;
    else if ((v = getenv("GOOGLE_APPLICATION_CREDENTIALS")) != NULL && v[0] != '\0')
        gk->cred = GCP_SA_ENV;
    else
        gk->cred = GCP_METADATA;
    if (gk->cred != GCP_METADATA) {
        if (snprintf(gk->sa_file, sizeof(gk->sa_file), "%s", v) >= (int)sizeof(gk->sa_file)) {
            ret = wtkms_errf(err, ENAMETOOLONG, "%s: service account file path too long", o);
            goto err;
        }
        (void)snprintf(gk->cred_desc, sizeof(gk->cred_desc), "the service account in %s%s",
          gk->sa_file, gk->cred == GCP_SA_ENV ? " (GOOGLE_APPLICATION_CREDENTIALS)" : "");
    } else {
        v = getenv("GCE_METADATA_HOST");
        if (v == NULL || v[0] == '\0')
            v = GCP_DEFAULT_METADATA;
        if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
              strlen(v) ||
            snprintf(gk->metadata_host, sizeof(gk->metadata_host), "%s", v) >=
              (int)sizeof(gk->metadata_host)) {
            ret = wtkms_errf(err, EINVAL, "GCE_METADATA_HOST=%s is not HOST[:PORT]", v);
            goto err;
        }
        (void)snprintf(gk->cred_desc, sizeof(gk->cred_desc),
          "the instance's service account (metadata server %s)", gk->metadata_host);
    }
    *kmsp = &gk->iface;
    return (0);
err:
    free(gk);
    return (ret);
}
