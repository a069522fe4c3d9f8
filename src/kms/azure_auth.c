/* SPDX-License-Identifier: Apache-2.0 */
/*
 * azure_auth.c -- the "azure" provider's credentials: which one the settings and the
 * environment choose, and the three ways it gets a Key Vault token (Entra ID with a client
 * secret, Entra ID with a client assertion signed by a certificate's key, managed identity).
 * Order and settings: azure.c's header comment. Secrets are read from their file or variable when
 * a token is needed and wiped after.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "azure.h"
#include "crypto.h"
#include "fileio.h"

#define AZ_DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define AZ_DEFAULT_IMDS "http://169.254.169.254"

static const char *const az_hdr_form[] = { "Content-Type: application/x-www-form-urlencoded",
    NULL };
static const char *const az_hdr_imds[] = { "Metadata: true", NULL };

/*
 * az_msi_request --
 *     A managed identity's token request: App Service's IDENTITY_ENDPOINT with its
 *     IDENTITY_HEADER, else the instance metadata service.
 */
static void
az_msi_request(azure_kms *ak, wtkms_http_req *req, wtkms_dbuf *url, wtkms_dbuf *hdr)
{
    const char *ep, *idh, *env;

    ep = getenv("IDENTITY_ENDPOINT");
    idh = getenv("IDENTITY_HEADER");
    if (ep != NULL && ep[0] != '\0' && idh != NULL && idh[0] != '\0') {
        /* App Service, Functions, Container Apps. */
        wtkms_dbuf_str(url, ep);
        /* The form builder puts "&" between fields, none after "?" or "&": no empty field. */
        if (strchr(ep, '?') == NULL)
            wtkms_dbuf_str(url, "?");
        wtkms_http_form_add(url, "api-version", "2019-08-01");
        wtkms_http_form_add(url, "resource", ak->resource);
        if (ak->msi_client_id[0] != '\0')
            wtkms_http_form_add(url, "client_id", ak->msi_client_id);
        wtkms_dbuf_str(hdr, "X-IDENTITY-HEADER: ");
        wtkms_dbuf_str(hdr, idh);
        req->secret_header = hdr->s;
        req->setting = "IDENTITY_ENDPOINT";
    } else {
        env = getenv("IMDS_ENDPOINT");
        wtkms_dbuf_str(url, env != NULL && env[0] != '\0' ? env : AZ_DEFAULT_IMDS);
        while (url->len > 0 && url->s[url->len - 1] == '/')
            url->s[--url->len] = '\0';
        wtkms_dbuf_str(url, "/metadata/identity/oauth2/token?");
        wtkms_http_form_add(url, "api-version", "2018-02-01");
        wtkms_http_form_add(url, "resource", ak->resource);
        if (ak->msi_client_id[0] != '\0')
            wtkms_http_form_add(url, "client_id", ak->msi_client_id);
        req->headers = az_hdr_imds;
        req->setting = "IMDS_ENDPOINT";
    }
    req->method = "GET";
    req->no_proxy = true; /* link-local or local: never through a proxy */
    req->metadata = true;
}

/*
 * az_secret_form --
 *     The client secret, from client_secret_file or AZURE_CLIENT_SECRET, as a form field.
 */
static int
az_secret_form(azure_kms *ak, wtkms_dbuf *body, wtkms_err *err)
{
    char *file;
    size_t file_len;
    int ret;

    if (ak->cred == AZ_ENV_SECRET) {
        wtkms_http_form_add(body, "client_secret", getenv("AZURE_CLIENT_SECRET"));
        return (0);
    }
    if ((ret = wtkms_read_private_file(
           ak->secret_file, "client_secret_file", 4096, &file, &file_len, err)) != 0)
        return (wtkms_err_prefix(err, "azure"));
    /* One line; a trailing newline is not part of the secret. */
    while (file_len > 0 && (file[file_len - 1] == '\n' || file[file_len - 1] == '\r'))
        file[--file_len] = '\0';
    if (file_len == 0)
        ret = wtkms_errf(err, EACCES, "azure: client_secret_file %s is empty", ak->secret_file);
    else
        wtkms_http_form_add(body, "client_secret", file);
    wtkms_wipe(file, file_len);
    free(file);
    return (ret);
}

/*
 * az_assertion_form --
 *     A client assertion for the token URL aud, signed RS256 with the certificate file's key and
 *     naming the certificate by thumbprint, as form fields.
 */
static int
az_assertion_form(azure_kms *ak, const char *aud, wtkms_dbuf *body, wtkms_err *err)
{
    bson_t hdrdoc, claims;
    EVP_PKEY *pkey;
    const char *path;
    char *file, *jwt, x5t[64], jti[33];
    uint8_t rnd[16];
    size_t file_len;
    int64_t now;
    int ret;

    pkey = NULL;
    jwt = NULL;
    path = ak->cred == AZ_CERT_FILE ? ak->cert_file : getenv("AZURE_CLIENT_CERTIFICATE_PATH");
    if ((ret = wtkms_read_private_file(
           path, "client certificate file", 1024 * 1024, &file, &file_len, err)) != 0)
        return (wtkms_err_prefix(err, "azure"));
    if (wtkms_pem_private_key(file, file_len, &pkey) != 0 ||
        wtkms_pem_cert_x5t(file, file_len, x5t, sizeof(x5t)) != 0) {
        ret = wtkms_errf(err, EACCES,
          "azure: client certificate file %s must hold the certificate and its unencrypted "
          "private key, both PEM",
          path);
        goto done;
    }
    if (wtkms_random(rnd, sizeof(rnd)) != 0) {
        ret = wtkms_errf(err, EIO, "azure: no random bytes from OpenSSL");
        goto done;
    }
    wtkms_hex(rnd, sizeof(rnd), jti);
    now = (int64_t)time(NULL);
    bson_init(&hdrdoc);
    BSON_APPEND_UTF8(&hdrdoc, "alg", "RS256");
    BSON_APPEND_UTF8(&hdrdoc, "typ", "JWT");
    BSON_APPEND_UTF8(&hdrdoc, "x5t", x5t);
    bson_init(&claims);
    BSON_APPEND_UTF8(&claims, "aud", aud != NULL ? aud : "");
    BSON_APPEND_UTF8(&claims, "iss", ak->client_id);
    BSON_APPEND_UTF8(&claims, "sub", ak->client_id);
    BSON_APPEND_UTF8(&claims, "jti", jti);
    BSON_APPEND_INT64(&claims, "nbf", now);
    BSON_APPEND_INT64(&claims, "iat", now);
    BSON_APPEND_INT64(&claims, "exp", now + 600);
    ret = wtkms_jwt_rs256(pkey, &hdrdoc, &claims, &jwt, err);
    bson_destroy(&hdrdoc);
    bson_destroy(&claims);
    if (ret != 0) {
        wtkms_err_prefix(err, "azure: client certificate %s", path);
        goto done;
    }
    wtkms_http_form_add(
      body, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    wtkms_http_form_add(body, "client_assertion", jwt);
done:
    wtkms_wipe(file, file_len);
    free(file);
    if (jwt != NULL) {
        wtkms_wipe(jwt, strlen(jwt));
        free(jwt);
    }
    EVP_PKEY_free(pkey);
    return (ret);
}

/*
 * wtkms_az_token_fetch --
 *     Ask the configured credential for a Key Vault token.
 */
int
wtkms_az_token_fetch(void *arg, wtkms_err *err)
{
    azure_kms *ak = arg;
    wtkms_token_src src;
    wtkms_http_req req;
    wtkms_dbuf body, url, hdr;
    char scope[160];
    int ret;

    memset(&req, 0, sizeof(req));
    memset(&body, 0, sizeof(body));
    memset(&url, 0, sizeof(url));
    memset(&hdr, 0, sizeof(hdr));
    memset(&src, 0, sizeof(src));
    src.opts = &ak->opts;
    src.provider = "azure";
    src.cred_desc = ak->cred_desc;
    if (ak->cred == AZ_MSI) {
        req.what = "Azure managed identity token request";
        az_msi_request(ak, &req, &url, &hdr);
        src.service = "the managed identity endpoint";
        src.refused_hint =
          "check that this machine has a managed identity and that it has access to the vault";
    } else {
        req.what = "Entra ID token request";
        wtkms_dbuf_str(&url, ak->authority);
        wtkms_dbuf_add(&url, "/", 1);
        wtkms_dbuf_str(&url, ak->tenant);
        wtkms_dbuf_str(&url, "/oauth2/v2.0/token");
        (void)snprintf(scope, sizeof(scope), "%s/.default", ak->resource);
        wtkms_http_form_add(&body, "grant_type", "client_credentials");
        wtkms_http_form_add(&body, "client_id", ak->client_id);
        wtkms_http_form_add(&body, "scope", scope);
        if (ak->cred == AZ_SECRET_FILE || ak->cred == AZ_ENV_SECRET)
            ret = az_secret_form(ak, &body, err);
        else
            ret = az_assertion_form(ak, url.s, &body, err);
        if (ret != 0)
            goto done;
        req.method = "POST";
        req.headers = az_hdr_form;
        req.body = body.s;
        req.body_len = body.len;
        req.setting = "authority_host=";
        src.service = ak->authority;
        src.refused_hint = "check tenant_id, client_id and the secret or certificate, and that "
                           "it has not expired";
    }
    if (url.error != 0 || body.error != 0 || hdr.error != 0) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto done;
    }
    req.url = url.s;
    req.max_body = 256 * 1024;
    ret = wtkms_token_request(&src, &req, &ak->token, err);
done:
    wtkms_dbuf_free(&body);
    wtkms_dbuf_free(&url);
    wtkms_dbuf_free(&hdr);
    return (ret);
}

/*
 * wtkms_az_copy_setting --
 *     A setting into a fixed buffer, or an error naming it.
 */
int
wtkms_az_copy_setting(
  const char *origin, const char *name, const char *v, char *out, size_t outlen, wtkms_err *err)
{
    if (v == NULL)
        v = "";
    if (snprintf(out, outlen, "%s", v) >= (int)outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "%s: %s is too long", origin, name));
    return (0);
}

/*
 * az_setting_or_env --
 *     A setting's value, else an environment variable's (NULL when neither is set).
 */
static const char *
az_setting_or_env(wtkms_config *cfg, const char *name, const char *var)
{
    const char *v = wtkms_config_get(cfg, name);

    return (v != NULL ? v : getenv(var));
}

/*
 * az_cred_desc --
 *     Which credential, for messages (never its secret).
 */
static void
az_cred_desc(azure_kms *ak)
{
    switch (ak->cred) {
    case AZ_SECRET_FILE:
        (void)snprintf(ak->cred_desc, sizeof(ak->cred_desc),
          "application %s in tenant %s (client secret from %s)", ak->client_id, ak->tenant,
          ak->secret_file);
        break;
    case AZ_CERT_FILE:
        (void)snprintf(ak->cred_desc, sizeof(ak->cred_desc),
          "application %s in tenant %s (client certificate %s)", ak->client_id, ak->tenant,
          ak->cert_file);
        break;
    case AZ_ENV_SECRET:
        (void)snprintf(ak->cred_desc, sizeof(ak->cred_desc),
          "application %s in tenant %s (client secret from AZURE_CLIENT_SECRET)", ak->client_id,
          ak->tenant);
        break;
    case AZ_ENV_CERT:
        (void)snprintf(ak->cred_desc, sizeof(ak->cred_desc),
          "application %s in tenant %s (client certificate from AZURE_CLIENT_CERTIFICATE_PATH)",
          ak->client_id, ak->tenant);
        break;
    case AZ_MSI:
        (void)snprintf(ak->cred_desc, sizeof(ak->cred_desc), "the %s managed identity%s%s",
          getenv("IDENTITY_ENDPOINT") != NULL && getenv("IDENTITY_HEADER") != NULL ? "App Service"
                                                                                   : "instance's",
          ak->msi_client_id[0] != '\0' ? " " : "", ak->msi_client_id);
        break;
    }
}

/*
 * wtkms_az_auth_config --
 *     The authority and the credential, in the documented order (no I/O).
 */
int
wtkms_az_auth_config(azure_kms *ak, wtkms_config *cfg, wtkms_err *err)
{
    const char *o, *env;
    size_t n;
    int ret;

    o = cfg->origin;
    env = getenv("AZURE_AUTHORITY_HOST");
    if ((ret = wtkms_az_copy_setting(o, "authority_host",
           wtkms_config_get(cfg, "authority_host") != NULL
             ? wtkms_config_get(cfg, "authority_host")
             : (env != NULL && env[0] != '\0' ? env : AZ_DEFAULT_AUTHORITY),
           ak->authority, sizeof(ak->authority), err)) != 0)
        return (ret);
    while ((n = strlen(ak->authority)) > 0 && ak->authority[n - 1] == '/')
        ak->authority[n - 1] = '\0';
    if (strncasecmp(ak->authority, "https://", 8) != 0)
        return (wtkms_errf(err, EINVAL,
          "%s: authority_host=%s must start with https:// (a client secret is sent to it)", o,
          ak->authority));

    /* The credential, in the documented order. */
    if ((ret = wtkms_az_copy_setting(o, "tenant_id",
           az_setting_or_env(cfg, "tenant_id", "AZURE_TENANT_ID"), ak->tenant, sizeof(ak->tenant),
           err)) != 0 ||
        (ret = wtkms_az_copy_setting(o, "client_id",
           az_setting_or_env(cfg, "client_id", "AZURE_CLIENT_ID"), ak->client_id,
           sizeof(ak->client_id), err)) != 0 ||
        (ret = wtkms_az_copy_setting(o, "client_secret_file",
           wtkms_config_get(cfg, "client_secret_file"), ak->secret_file, sizeof(ak->secret_file),
           err)) != 0 ||
        (ret = wtkms_az_copy_setting(o, "client_certificate_file",
           wtkms_config_get(cfg, "client_certificate_file"), ak->cert_file, sizeof(ak->cert_file),
           err)) != 0 ||
        (ret = wtkms_az_copy_setting(o, "managed_identity_client_id",
           wtkms_config_get(cfg, "managed_identity_client_id"), ak->msi_client_id,
           sizeof(ak->msi_client_id), err)) != 0)
        return (ret);
    if (ak->secret_file[0] != '\0' && ak->cert_file[0] != '\0')
        return (wtkms_errf(
          err, EINVAL, "%s: give client_secret_file or client_certificate_file, not both", o));
    if (ak->secret_file[0] != '\0')
        ak->cred = AZ_SECRET_FILE;
    else if (ak->cert_file[0] != '\0')
        ak->cred = AZ_CERT_FILE;
    else if ((env = getenv("AZURE_CLIENT_SECRET")) != NULL && env[0] != '\0')
        ak->cred = AZ_ENV_SECRET;
    else if ((env = getenv("AZURE_CLIENT_CERTIFICATE_PATH")) != NULL && env[0] != '\0')
        ak->cred = AZ_ENV_CERT;
    else
        ak->cred = AZ_MSI;
    if (ak->cred != AZ_MSI && (ak->tenant[0] == '\0' || ak->client_id[0] == '\0'))
        return (wtkms_errf(err, EINVAL,
          "%s: a client %s needs tenant_id and client_id (settings, or AZURE_TENANT_ID and "
          "AZURE_CLIENT_ID)",
          o, ak->cred == AZ_SECRET_FILE || ak->cred == AZ_ENV_SECRET ? "secret" : "certificate"));
    if (strspn(ak->tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
        strlen(ak->tenant))
        return (
          wtkms_errf(err, EINVAL, "%s: tenant_id=%s is not a tenant id or domain", o, ak->tenant));
    if (ak->cred == AZ_MSI && ak->msi_client_id[0] == '\0' && ak->client_id[0] != '\0')
        (void)snprintf(ak->msi_client_id, sizeof(ak->msi_client_id), "%s", ak->client_id);
    az_cred_desc(ak);
    return (0);
}
