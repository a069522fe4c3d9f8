/* SPDX-License-Identifier: Apache-2.0 */
/*
 * azure.c -- the "azure" provider: the master key is an RSA key in Azure Key Vault (or Managed
 * HSM); wrap and unwrap are the vault's wrapkey/unwrapkey with RSA-OAEP-256, API version 7.4.
 *
 * A key version is always sent: unwrap uses the version recorded when the key was wrapped; wrap
 * uses key_version when configured, else it resolves the key's current version once (GET
 * /keys/NAME) and records it. Rotating the key in the vault (a new version) and then running
 * "wtkms keys rotate" moves the keystore to the new version.
 *
 * Credentials, first match wins:
 *   1. client_secret_file=PATH with tenant_id and client_id (Entra ID client credentials)
 *   2. client_certificate_file=PATH (PEM: certificate and private key) with tenant_id, client_id:
 *      a client assertion JWT signed RS256, carrying the certificate's SHA-1 thumbprint (x5t)
 *   3. the environment, as the Azure SDKs read it: AZURE_TENANT_ID, AZURE_CLIENT_ID and
 *      AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH
 *   4. managed identity: IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service, Functions, Container
 *      Apps), else the instance metadata service at IMDS_ENDPOINT (default 169.254.169.254);
 *      managed_identity_client_id (or AZURE_CLIENT_ID) picks a user-assigned identity.
 * authority_host (or AZURE_AUTHORITY_HOST) overrides https://login.microsoftonline.com. The
 * token is cached in the provider until 5 minutes before it expires; a 401 drops it and asks
 * once for a new one. Secrets are read from their file or variable when a token is needed and
 * wiped after.
 *
 * Blob: version byte 0x01 || RSA-OAEP-256 ciphertext (the key's modulus size).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azure.h"
#include "crypto.h"

#define AZ_API "api-version=7.4"
#define AZ_BLOB_VERSION 0x01
#define AZ_MAX_CT 1024 /* RSA up to 8192 bits */

static const char *const az_hdr_json[] = { "Content-Type: application/json", NULL };

/*
 * az_key_label --
 *     "key NAME version V in VAULT" for messages.
 */
static void
az_key_label(azure_kms *ak, const char *version, char *out, size_t outlen)
{
    (void)snprintf(out, outlen, "Azure Key Vault key %s%s%s in %s", ak->key_name,
      version != NULL && version[0] != '\0' ? " version " : "", version != NULL ? version : "",
      ak->vault);
}

/* What a Key Vault call answered, when it failed. */
typedef struct {
    long status;
    int attempts;
    char code[64], inner[64], message[300];
} az_failure;

/*
 * az_call --
 *     One Key Vault request with the cached token (fetching one when needed; a 401 on a cached
 *     token fetches a new one and tries once more). Returns 0 when the vault answered: *doc holds
 *     the answer and fail->status its status (the caller words anything but 200 with az_error).
 */
static int
az_call(azure_kms *ak, const char *what, const char *method, const char *url, const char *body,
  size_t body_len, bson_t *doc, az_failure *fail, wtkms_err *err)
{
    wtkms_bearer bearer = { &ak->opts, &ak->token, wtkms_az_token_fetch, ak, ak->label, ak->vault,
        "vault_url=", az_hdr_json };
    int ret;

    memset(fail, 0, sizeof(*fail));
    if ((ret = wtkms_bearer_call(&bearer, what, method, url, body, body_len, doc, &fail->status,
           &fail->attempts, err)) != 0 ||
        fail->status == 200)
        return (ret);
    /* {"error": {"code": "Forbidden", "message": "...", "innererror": {"code": "KeyDisabled"}}} */
    wtkms_json_printable(doc, "error.code", fail->code, sizeof(fail->code));
    wtkms_json_printable(doc, "error.innererror.code", fail->inner, sizeof(fail->inner));
    wtkms_json_printable(doc, "error.message", fail->message, sizeof(fail->message));
    return (0);
}

/*
 * az_error --
 *     A failed Key Vault answer, in words a DBA can act on.
 */
static int
az_error(azure_kms *ak, const char *op, const char *version, const az_failure *f, wtkms_err *err)
{
    char label[900], detail[500];

    az_key_label(ak, version, label, sizeof(label));
    (void)snprintf(detail, sizeof(detail), "HTTP %ld%s%s%s%s%s%s", f->status,
      f->code[0] != '\0' ? " " : "", f->code, f->inner[0] != '\0' ? "/" : "", f->inner,
      f->message[0] != '\0' ? ": " : "", f->message);
    if (strcasecmp(f->inner, "KeyDisabled") == 0 ||
        (f->status == 403 && strstr(f->message, "disabled") != NULL))
        return (wtkms_errf(err, EKEYREVOKED,
          "%s is disabled (%s): enable it (az keyvault key set-attributes --vault-name VAULT "
          "--name %s%s%s --enabled true), then retry",
          label, detail, ak->key_name, version != NULL && version[0] != '\0' ? " --version " : "",
          version != NULL ? version : ""));
    switch (f->status) {
    case 401:
        return (wtkms_errf(err, EACCES,
          "%s: the vault rejected the token of %s (%s): check that the identity belongs to the "
          "vault's tenant (tenant_id)",
          label, ak->cred_desc, detail));
    case 403:
        return (wtkms_errf(err, EACCES,
          "%s: %s is not allowed to %s (%s): grant it the Key Vault Crypto Service Encryption "
          "User role on the key (or an access policy with keys get, wrapKey and unwrapKey)",
          label, ak->cred_desc, op, detail));
    case 404:
        return (wtkms_errf(err, ENOKEY,
          "%s does not exist (%s): if it was deleted and the vault keeps deleted keys, recover "
          "it (az keyvault key recover); otherwise data wrapped under it cannot be recovered",
          label, detail));
    case 400:
        if (strcmp(op, "unwrapKey") == 0)
            return (wtkms_errf(err, EKEYREJECTED,
              "%s cannot unwrap this key (%s): it was wrapped under another key or altered; "
              "configure the key it was made under",
              label, detail));
        return (wtkms_errf(err, EINVAL,
          "%s refused %s (%s): the key must be an RSA key (2048 bits or more) that permits "
          "wrapKey and unwrapKey",
          label, op, detail));
    case 429:
        return (wtkms_errf(err, EAGAIN,
          "%s: the vault is throttling requests (%s) and still was after %d attempt%s: retry "
          "later, or raise max_retries/deadline_ms",
          label, detail, f->attempts, f->attempts == 1 ? "" : "s"));
    default:
        if (f->status >= 500)
            return (wtkms_errf(err, EAGAIN,
              "%s: %s failed (%s): the service failed after %d attempt%s; retry later", label, op,
              detail, f->attempts, f->attempts == 1 ? "" : "s"));
        return (wtkms_errf(err, EPROTO, "%s: %s failed (%s)", label, op, detail));
    }
}

/*
 * az_version_from_kid --
 *     The version at the end of a key id "https://VAULT/keys/NAME/VERSION".
 */
static int
az_version_from_kid(azure_kms *ak, const char *kid, uint32_t len, char *out, size_t outlen)
{
    const char *slash;
    size_t vlen;

    if (kid == NULL)
        return (EPROTO);
    for (slash = kid + len; slash > kid && slash[-1] != '/'; slash--)
        ;
    if (slash == kid)
        return (EPROTO);
    slash--;
    vlen = len - (size_t)(slash + 1 - kid);
    if (vlen == 0 || vlen >= outlen || vlen >= sizeof(ak->key_version))
        return (EPROTO);
    memcpy(out, slash + 1, vlen);
    out[vlen] = '\0';
    return (strspn(out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == vlen
              ? 0
              : EPROTO);
}

/*
 * az_url --
 *     {vault}/keys/{name}[/{version}][/{op}]?api-version=7.4
 */
static void
az_url(azure_kms *ak, const char *version, const char *op, char *out, size_t outlen)
{
    (void)snprintf(out, outlen, "%s/keys/%s%s%s%s%s?%s", ak->vault, ak->key_name,
      version != NULL ? "/" : "", version != NULL ? version : "", op != NULL ? "/" : "",
      op != NULL ? op : "", AZ_API);
}

/*
 * azure_describe --
 *     The configured key.
 */
static void
azure_describe(wtkms_kms *kms, wtkms_kms_desc *desc)
{
    azure_kms *ak = (azure_kms *)kms;

    memset(desc, 0, sizeof(*desc));
    (void)snprintf(desc->provider, sizeof(desc->provider), "azure");
    (void)snprintf(desc->key_id, sizeof(desc->key_id), "%s", ak->key_name);
    (void)snprintf(desc->key_version, sizeof(desc->key_version), "%s", ak->key_version);
    (void)snprintf(desc->endpoint, sizeof(desc->endpoint), "%s", ak->vault);
}

/*
 * azure_wrap --
 *     wrapkey under the configured version, or the current one, resolved once.
 */
static int
azure_wrap(wtkms_kms *kms, const uint8_t key[WTKMS_KEY_LEN], uint8_t **blobp, size_t *blob_lenp,
  wtkms_kms_desc *desc, wtkms_err *err)
{
    azure_kms *ak = (azure_kms *)kms;
    az_failure fail;
    bson_t doc, reqdoc;
    const char *kid, *val;
    char url[1024], version[128], b64[WTKMS_B64_LEN(WTKMS_KEY_LEN)], *json;
    uint8_t *blob;
    size_t json_len, ct_len;
    uint32_t len;
    int ret;

    *blobp = NULL;
    json = NULL;
    bson_init(&reqdoc);
    (void)snprintf(version, sizeof(version), "%s", ak->key_version);
    if (version[0] == '\0') {
        az_url(ak, NULL, NULL, url, sizeof(url));
        if ((ret = az_call(ak, "GetKey", "GET", url, NULL, 0, &doc, &fail, err)) != 0 ||
            fail.status != 200) {
            if (ret == 0)
                ret = az_error(ak, "get", NULL, &fail, err);
            wtkms_bson_wipe(&doc);
            goto done;
        }
        kid = wtkms_json_str(&doc, "key.kid", &len);
        ret = az_version_from_kid(ak, kid, len, version, sizeof(version));
        wtkms_bson_wipe(&doc);
        if (ret != 0) {
            ret = wtkms_errf(err, EPROTO,
              "Azure Key Vault key %s in %s: the vault's answer names no key version", ak->key_name,
              ak->vault);
            goto done;
        }
    }
    (void)wtkms_b64_encode(key, WTKMS_KEY_LEN, true, b64, sizeof(b64));
    BSON_APPEND_UTF8(&reqdoc, "alg", "RSA-OAEP-256");
    BSON_APPEND_UTF8(&reqdoc, "value", b64);
    wtkms_wipe(b64, sizeof(b64));
    if ((json = wtkms_json_text(&reqdoc, &json_len)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto done;
    }
    az_url(ak, version, "wrapkey", url, sizeof(url));
    if ((ret = az_call(ak, "WrapKey", "POST", url, json, json_len, &doc, &fail, err)) != 0 ||
        fail.status != 200) {
        if (ret == 0)
            ret = az_error(ak, "wrapKey", version, &fail, err);
        wtkms_bson_wipe(&doc);
        goto done;
    }
    ret = EPROTO;
    if ((blob = malloc(1 + AZ_MAX_CT)) != NULL &&
        (val = wtkms_json_str(&doc, "value", &len)) != NULL &&
        wtkms_b64_decode(val, len, blob + 1, AZ_MAX_CT, &ct_len) == 0 && ct_len >= 128) {
        /* The vault says which version it used; record that one. */
        kid = wtkms_json_str(&doc, "kid", &len);
        if (kid == NULL || az_version_from_kid(ak, kid, len, version, sizeof(version)) == 0)
            ret = 0;
    }
    wtkms_bson_wipe(&doc);
    if (ret != 0) {
        free(blob);
        ret = wtkms_errf(err, blob == NULL ? ENOMEM : EPROTO,
          "Azure Key Vault key %s version %s: the wrapkey answer carries no wrapped key",
          ak->key_name, version);
        goto done;
    }
    blob[0] = AZ_BLOB_VERSION;
    *blobp = blob;
    *blob_lenp = 1 + ct_len;
    azure_describe(kms, desc);
    (void)snprintf(desc->key_version, sizeof(desc->key_version), "%s", version);
done:
    if (json != NULL) {
        wtkms_wipe(json, json_len);
        bson_free(json);
    }
    wtkms_bson_wipe(&reqdoc);
    return (ret);
}

/*
 * azure_unwrap --
 *     unwrapkey under the version recorded at wrap.
 */
static int
azure_unwrap(wtkms_kms *kms, const uint8_t *blob, size_t blob_len, const wtkms_kms_desc *stored,
  wtkms_key **keyp, wtkms_err *err)
{
    azure_kms *ak = (azure_kms *)kms;
    az_failure fail;
    bson_t doc, reqdoc;
    wtkms_key *k;
    const char *val, *version;
    char url[1024], *b64, *json;
    uint8_t pt[64];
    size_t json_len, b64len, pt_len;
    uint32_t len;
    int ret;

    *keyp = NULL;
    json = NULL;
    version =
      stored != NULL && stored->key_version[0] != '\0' ? stored->key_version : ak->key_version;
    if (blob_len < 2 || blob_len > 1 + AZ_MAX_CT || blob[0] != AZ_BLOB_VERSION)
        return (wtkms_errf(err, EKEYREJECTED,
          "Azure Key Vault key %s: the wrapped key is %zu bytes with version %u: it was not "
          "made by the azure provider",
          ak->key_name, blob_len, blob_len > 0 ? blob[0] : 0));
    if (version[0] == '\0')
        return (wtkms_errf(err, EINVAL,
          "Azure Key Vault key %s: no key version is recorded for this wrapped key and none is "
          "configured: set key_version to the version it was wrapped under",
          ak->key_name));
    b64len = WTKMS_B64_LEN(blob_len);
    if ((b64 = malloc(b64len)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)wtkms_b64_encode(blob + 1, blob_len - 1, true, b64, b64len);
    bson_init(&reqdoc);
    BSON_APPEND_UTF8(&reqdoc, "alg", "RSA-OAEP-256");
    BSON_APPEND_UTF8(&reqdoc, "value", b64);
    free(b64);
    if ((json = wtkms_json_text(&reqdoc, &json_len)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto done;
    }
    az_url(ak, version, "unwrapkey", url, sizeof(url));
    if ((ret = az_call(ak, "UnwrapKey", "POST", url, json, json_len, &doc, &fail, err)) != 0 ||
        fail.status != 200) {
        if (ret == 0)
            ret = az_error(ak, "unwrapKey", version, &fail, err);
        wtkms_bson_wipe(&doc);
        goto done;
    }
    if ((val = wtkms_json_str(&doc, "value", &len)) == NULL ||
        wtkms_b64_decode(val, len, pt, sizeof(pt), &pt_len) != 0 || pt_len != WTKMS_KEY_LEN) {
        wtkms_bson_wipe(&doc);
        wtkms_wipe(pt, sizeof(pt));
        ret = wtkms_errf(err, EPROTO,
          "Azure Key Vault key %s version %s: the unwrapkey answer does not carry a %d-byte key",
          ak->key_name, version, WTKMS_KEY_LEN);
        goto done;
    }
    wtkms_bson_wipe(&doc);
    if ((k = wtkms_key_new()) == NULL) {
        wtkms_wipe(pt, sizeof(pt));
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto done;
    }
    memcpy(k->b, pt, WTKMS_KEY_LEN);
    wtkms_wipe(pt, sizeof(pt));
    *keyp = k;
    ret = 0;
done:
    if (json != NULL) {
        wtkms_wipe(json, json_len);
        bson_free(json);
    }
    bson_destroy(&reqdoc);
    return (ret);
}

/*
 * azure_free --
 *     Forget the token, free.
 */
static void
azure_free(wtkms_kms *kms)
{
    azure_kms *ak = (azure_kms *)kms;

    wtkms_token_clear(&ak->token);
    free(ak);
}

/*
 * az_resource --
 *     The token audience for a vault's cloud (public, China, US Government, Managed HSM).
 */
static void
az_resource(azure_kms *ak)
{
    static const struct {
        const char *suffix, *resource;
    } clouds[] = {
        { ".vault.azure.cn", "https://vault.azure.cn" },
        { ".vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net" },
        { ".managedhsm.azure.net", "https://managedhsm.azure.net" },
        { ".managedhsm.azure.cn", "https://managedhsm.azure.cn" },
        { ".managedhsm.usgovcloudapi.net", "https://managedhsm.usgovcloudapi.net" },
    };
    const char *host, *end;
    size_t hlen, slen, i;

    (void)snprintf(ak->resource, sizeof(ak->resource), "https://vault.azure.net");
    host = ak->vault + strlen("https://");
    end = host + strcspn(host, ":/");
    hlen = (size_t)(end - host);
    for (i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++) {
        slen = strlen(clouds[i].suffix);
        if (hlen > slen && strncasecmp(end - slen, clouds[i].suffix, slen) == 0)
            (void)snprintf(ak->resource, sizeof(ak->resource), "%s", clouds[i].resource);
    }
}

/*
 * wtkms_kms_azure_open --
 *     Build the Azure provider and choose its credential (no I/O).
 */
int
wtkms_kms_azure_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err)
{
    azure_kms *ak;
    const char *vault, *name, *o;
    size_t n;
    int ret;

    *kmsp = NULL;
    if ((ret = wtkms_config_require(cfg, "vault_url", &vault, err)) != 0 ||
        (ret = wtkms_config_require(cfg, "key_name", &name, err)) != 0)
        return (wtkms_err_prefix(err, "provider=azure needs vault_url and key_name"));
    if ((ak = calloc(1, sizeof(*ak))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ak->iface.name = "azure";
    ak->iface.wrap = azure_wrap;
    ak->iface.unwrap = azure_unwrap;
    ak->iface.describe = azure_describe;
    ak->iface.matches = NULL; /* provider, key name and vault, exactly */
    ak->iface.free = azure_free;
    o = cfg->origin;
    if ((ret = wtkms_http_opts_from_config(cfg, &ak->opts, err)) != 0)
        goto err;
    if (strncasecmp(vault, "https://", 8) != 0) {
        ret = wtkms_errf(err, EINVAL,
          "%s: vault_url=%s must start with https:// (for example https://myvault.vault.azure.net)",
          o, vault);
        goto err;
    }
    if ((ret = wtkms_az_copy_setting(o, "vault_url", vault, ak->vault, sizeof(ak->vault), err)) !=
        0)
        goto err;
    while ((n = strlen(ak->vault)) > 8 && ak->vault[n - 1] == '/')
        ak->vault[n - 1] = '\0';
    if (strchr(ak->vault + 8, '/') != NULL || strchr(ak->vault, '?') != NULL) {
        ret = wtkms_errf(err, EINVAL,
          "%s: vault_url=%s must name only the vault (https://NAME.vault.azure.net), no path", o,
          vault);
        goto err;
    }
    az_resource(ak);
    if ((ret = wtkms_az_copy_setting(
           o, "key_name", name, ak->key_name, sizeof(ak->key_name), err)) != 0 ||
        (ret = wtkms_az_copy_setting(o, "key_version", wtkms_config_get(cfg, "key_version"),
           ak->key_version, sizeof(ak->key_version), err)) != 0)
        goto err;
    if (strspn(ak->key_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
          strlen(ak->key_name) ||
        strspn(ak->key_version, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
          strlen(ak->key_version)) {
        ret = wtkms_errf(err, EINVAL,
          "%s: key_name may hold only letters, digits and '-', key_version only letters and "
          "digits",
          o);
        goto err;
    }
    (void)snprintf(ak->label, sizeof(ak->label), "Azure Key Vault key %s", ak->key_name);
    if ((ret = wtkms_az_auth_config(ak, cfg, err)) != 0)
        goto err;
    *kmsp = &ak->iface;
    return (0);
err:
    free(ak);
    return (ret);
}
