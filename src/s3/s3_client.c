/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_client.c -- an S3-compatible service: its settings, credentials, signed calls, error
 * wording and the XML values of its answers (s3_client.h).
 */
#define _GNU_SOURCE
#include "s3_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/*
 * wtkms_s3_xml_value --
 *     The text of the first <tag>...</tag> at or after *from (advanced past it), or NULL. S3's
 *     answers are flat enough for this; values are XML-unescaped for the entities S3 uses.
 */
char *
wtkms_s3_xml_value(const char *body, const char **from, const char *tag, char *out, size_t outlen)
{
    char open[64], close[64];
    const char *p, *q;
    size_t n, i, o;

    (void)snprintf(open, sizeof(open), "<%s>", tag);
    (void)snprintf(close, sizeof(close), "</%s>", tag);
    if ((p = strstr(from != NULL ? *from : body, open)) == NULL)
        return (NULL);
    p += strlen(open);
    if ((q = strstr(p, close)) == NULL)
        return (NULL);
    n = (size_t)(q - p);
    for (i = o = 0; i < n && o + 1 < outlen; i++) {
        if (p[i] == '&') {
            static const struct {
                const char *ent;
                char c;
            } ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
                { "&apos;", '\'' } };
            size_t e;
            for (e = 0; e < sizeof(ents) / sizeof(ents[0]); e++)
                if (strncmp(p + i, ents[e].ent, strlen(ents[e].ent)) == 0) {
                    out[o++] = ents[e].c;
                    i += strlen(ents[e].ent) - 1;
                    break;
                }
            if (e < sizeof(ents) / sizeof(ents[0]))
                continue;
        }
        out[o++] = p[i];
    }
    out[o] = '\0';
    if (from != NULL)
        *from = q + strlen(close);
    return (out);
}

/*
 * wtkms_s3_error --
 *     An S3 error answer in words: the code from its XML body, then what to do.
 */
int
wtkms_s3_error(
  wtkms_s3 *c, const char *what, const char *key, const wtkms_http_resp *resp, wtkms_err *err)
{
    char code[128], msg[256];
    int ecode;

    code[0] = msg[0] = '\0';
    if (resp->body != NULL) {
        (void)wtkms_s3_xml_value(resp->body, NULL, "Code", code, sizeof(code));
        (void)wtkms_s3_xml_value(resp->body, NULL, "Message", msg, sizeof(msg));
    }
    if (strcmp(code, "NoSuchBucket") == 0)
        return (wtkms_errf(err, ENOENT,
          "%s %s: bucket %s does not exist at %s: create it, or check s3_endpoint and s3_region",
          c->noun, c->url, c->bucket, c->endpoint));
    if (resp->status == 403 || strcmp(code, "AccessDenied") == 0 ||
        strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "InvalidAccessKeyId") == 0)
        return (wtkms_errf(err, EACCES,
          "%s %s: %s %s was refused (%s%s%s) with the credentials from %s: check them, and that "
          "the policy allows s3:GetObject, s3:PutObject, s3:ListBucket and s3:DeleteObject on the "
          "bucket",
          c->noun, c->url, what, key, code[0] ? code : "HTTP 403", msg[0] ? ": " : "", msg,
          c->creds->source));
    ecode = resp->status == 404 ? ENOENT : resp->status >= 500 ? EHOSTUNREACH : EIO;
    return (wtkms_errf(err, ecode, "%s %s: %s %s failed with HTTP %ld%s%s%s%s", c->noun, c->url,
      what, key, resp->status, code[0] ? " " : "", code, msg[0] ? ": " : "", msg));
}

/*
 * s3_creds --
 *     Credentials good for the next call (resolved once, refreshed before they expire).
 */
static int
s3_creds(wtkms_s3 *c, wtkms_err *err)
{
    wtkms_aws_cred_cfg cc;
    int ret;

    (void)pthread_mutex_lock(&c->lock);
    ret = 0;
    if (!wtkms_aws_creds_fresh(c->creds)) {
        wtkms_aws_cred_cfg_init(&cc, &c->cs, c->region, &c->http);
        if ((ret = wtkms_aws_creds_resolve(&cc, c->creds, err)) != 0)
            wtkms_err_prefix(err, "%s %s", c->noun, c->url);
    }
    (void)pthread_mutex_unlock(&c->lock);
    return (ret);
}

/*
 * wtkms_s3_call --
 *     One signed request. key is the object key ("" for the bucket); query is canonical.
 */
int
wtkms_s3_call(wtkms_s3 *c, const char *what, const char *method, const char *key, const char *query,
  const void *body, size_t len, const char *extra, size_t max_body, wtkms_http_resp *resp,
  wtkms_err *err)
{
    wtkms_http_req req;
    uint8_t sum[WTKMS_SHA256_LEN];
    char url[4096], sha_hdr[128], hex[2 * WTKMS_SHA256_LEN + 1], sigv4[128];
    const char *headers[4];
    int n, ret, h;

    memset(resp, 0, sizeof(*resp));
    if ((ret = s3_creds(c, err)) != 0)
        return (ret);
    if (c->path_style)
        n = snprintf(url, sizeof(url), "%s/%s/%s%s%s", c->endpoint, c->bucket, key,
          query[0] ? "?" : "", query);
    else
        n = snprintf(url, sizeof(url), "https://%s.s3.%s.amazonaws.com/%s%s%s", c->bucket,
          c->region, key, query[0] ? "?" : "", query);
    if (n < 0 || (size_t)n >= sizeof(url))
        return (wtkms_errf(err, ENAMETOOLONG, "%s %s: URL too long", c->noun, c->url));
    if ((ret = wtkms_sha256(body != NULL ? body : "", len, sum)) != 0)
        return (wtkms_errf(err, ret, "SHA-256 failed"));
    wtkms_hex(sum, sizeof(sum), hex);
    (void)snprintf(sha_hdr, sizeof(sha_hdr), "x-amz-content-sha256: %s", hex);
    (void)snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", c->region);
    h = 0;
    headers[h++] = sha_hdr;
    if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0)
        headers[h++] = "Content-Type: application/octet-stream";
    if (extra != NULL)
        headers[h++] = extra;
    headers[h] = NULL;
    memset(&req, 0, sizeof(req));
    req.what = what;
    req.setting = "s3_endpoint=";
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = len;
    req.sigv4 = sigv4;
    (void)pthread_mutex_lock(&c->lock);
    req.access_key = c->creds->access_key;
    req.secret_key = c->creds->secret;
    req.session_token = c->creds->token[0] != '\0' ? c->creds->token : NULL;
    req.max_body = max_body;
    ret = wtkms_http_request(&c->http, &req, resp, err);
    (void)pthread_mutex_unlock(&c->lock);
    if (ret != 0)
        return (wtkms_err_prefix(err, "%s %s", c->noun, c->url));
    return (0);
}

/*
 * wtkms_s3_escape --
 *     URI-encode a query value (SigV4 rules: everything but unreserved characters).
 */
int
wtkms_s3_escape(const char *in, char *out, size_t outlen)
{
    char *e;
    int ret;

    if ((e = curl_easy_escape(NULL, in, 0)) == NULL)
        return (ENOMEM);
    ret = snprintf(out, outlen, "%s", e) >= (int)outlen ? ENAMETOOLONG : 0;
    curl_free(e);
    return (ret);
}

/*
 * wtkms_s3_free --
 *     Free a client (credentials are wiped).
 */
void
wtkms_s3_free(wtkms_s3 *c)
{
    if (c == NULL)
        return;
    wtkms_aws_creds_free(c->creds);
    (void)pthread_mutex_destroy(&c->lock);
    free(c);
}

/*
 * parse_url --
 *     s3://BUCKET[/PREFIX] into the bucket and "" or "PREFIX/".
 */
static int
parse_url(wtkms_s3 *c, const char *url, wtkms_err *err)
{
    const char *rest, *slash;
    size_t n;

    rest = url + 5;
    slash = strchr(rest, '/');
    n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof(c->bucket) ||
        strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789.-") < n)
        return (wtkms_errf(err, EINVAL,
          "store %s: the bucket name must be 1..255 lower-case letters, digits, '.' or '-'", url));
    memcpy(c->bucket, rest, n);
    if (slash == NULL)
        return (0);
    rest = slash + 1;
    n = strlen(rest);
    while (n > 0 && rest[n - 1] == '/')
        n--;
    if (n + 2 >= sizeof(c->prefix) ||
        strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") < n ||
        strstr(rest, "//") != NULL)
        return (wtkms_errf(err, EINVAL,
          "store %s: the prefix may hold letters, digits, '.', '_', '-' and single '/' only", url));
    if (n > 0)
        (void)snprintf(c->prefix, sizeof(c->prefix), "%.*s/", (int)n, rest);
    return (0);
}

/*
 * parse_settings --
 *     The s3_* settings: region, endpoint and addressing, credentials, TLS, part size.
 */
static int
parse_settings(wtkms_s3 *c, wtkms_config *cfg, wtkms_err *err)
{
    const char *env;
    char addressing[16], ca[1024], proxy[1024];
    unsigned long part, timeout;
    size_t n;
    int ret;

    if ((ret = wtkms_config_copy(cfg, "s3_region", c->region, sizeof(c->region), err)) != 0 ||
        (ret = wtkms_config_copy(cfg, "s3_endpoint", c->endpoint, sizeof(c->endpoint), err)) != 0 ||
        (ret = wtkms_config_copy(cfg, "s3_addressing", addressing, sizeof(addressing), err)) != 0 ||
        (ret = wtkms_aws_cred_settings_read(cfg, "s3_", false, &c->cs, err)) != 0 ||
        (ret = wtkms_config_copy(cfg, "s3_ca_file", ca, sizeof(ca), err)) != 0 ||
        (ret = wtkms_config_copy(cfg, "s3_proxy", proxy, sizeof(proxy), err)) != 0)
        return (ret);
    if (c->region[0] == '\0') {
        if (((env = getenv("AWS_REGION")) != NULL && env[0] != '\0') ||
            ((env = getenv("AWS_DEFAULT_REGION")) != NULL && env[0] != '\0'))
            (void)snprintf(c->region, sizeof(c->region), "%s", env);
        else
            (void)snprintf(c->region, sizeof(c->region), "us-east-1");
    }
    if (strspn(c->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->region))
        return (wtkms_errf(err, EINVAL, "s3_region=%s is not an AWS region name", c->region));
    if (c->endpoint[0] != '\0') {
        if ((ret = wtkms_http_check_endpoint(NULL, "s3_endpoint", c->endpoint, err)) != 0)
            return (ret);
        while ((n = strlen(c->endpoint)) > 0 && c->endpoint[n - 1] == '/')
            c->endpoint[n - 1] = '\0';
        c->path_style = strcmp(addressing, "virtual") != 0;
        if (!c->path_style)
            return (wtkms_errf(err, EINVAL,
              "s3_addressing=virtual is for AWS itself: drop s3_endpoint, or use path addressing"));
    } else {
        c->path_style = strcmp(addressing, "path") == 0;
        (void)snprintf(c->endpoint, sizeof(c->endpoint), "https://s3.%s.amazonaws.com", c->region);
    }
    if (addressing[0] != '\0' && strcmp(addressing, "path") != 0 &&
        strcmp(addressing, "virtual") != 0)
        return (wtkms_errf(err, EINVAL, "s3_addressing=%s: use path or virtual", addressing));
    part = WTKMS_S3_PART_DEFAULT / (1024 * 1024);
    if (cfg != NULL && (ret = wtkms_config_uint(cfg, "s3_part_size", part, 5, 64, &part, err)) != 0)
        return (ret);
    c->part_size = part * 1024 * 1024;
    timeout = WTKMS_S3_TIMEOUT_DEFAULT_MS;
    if (cfg != NULL && (ret = wtkms_config_uint(
                          cfg, "s3_timeout_ms", timeout, 1000, 900 * 1000, &timeout, err)) != 0)
        return (ret);

    /* Parts take time to send: a longer attempt and deadline than a KMS call's. */
    wtkms_http_opts_default(&c->http);
    c->http.timeout_ms = (long)timeout;
    c->http.deadline_ms = 900 * 1000;
    (void)snprintf(c->http.ca_file, sizeof(c->http.ca_file), "%s", ca);
    (void)snprintf(c->http.proxy, sizeof(c->http.proxy), "%s", proxy);
    return (0);
}

/*
 * wtkms_s3_open --
 *     Parse s3://BUCKET[/PREFIX] and the s3_* settings.
 */
int
wtkms_s3_open(const char *url, wtkms_config *cfg, const char *noun, wtkms_s3 **cp, wtkms_err *err)
{
    wtkms_s3 *c;
    int ret;

    *cp = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)pthread_mutex_init(&c->lock, NULL);
    if (wtkms_aws_creds_new(&c->creds) != 0) {
        (void)pthread_mutex_destroy(&c->lock);
        free(c);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    (void)snprintf(c->url, sizeof(c->url), "%s", url);
    (void)snprintf(c->noun, sizeof(c->noun), "%s", noun);
    if ((ret = parse_url(c, url, err)) != 0 || (ret = parse_settings(c, cfg, err)) != 0) {
        wtkms_s3_free(c);
        return (ret);
    }
    *cp = c;
    return (0);
}
