/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_creds_meta.c -- the AWS credential chain's metadata endpoints: the container credentials of
 * ECS and EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_*), and the EC2 instance metadata service
 * (IMDSv2). The chain: aws_creds.c.
 */
#include <bson/bson.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws_creds_src.h"
#include "fileio.h"
#include "secure.h"

#define IMDS_DEFAULT "http://169.254.169.254"
#define ECS_HOST "http://169.254.170.2"

/*
 * json_creds --
 *     AccessKeyId/SecretAccessKey/Token/Expiration from an ECS or IMDS answer.
 */
static int
json_creds(const char *body, size_t len, const char *source, wtkms_aws_creds *c, wtkms_err *err)
{
    bson_error_t berr;
    bson_iter_t it;
    bson_t *doc;
    const char *ak, *sk, *tok, *exp, *code;
    uint32_t ak_len, sk_len, tok_len;
    int64_t expires;
    size_t i;
    char text[48];
    int ret;

    if ((doc = bson_new_from_json((const uint8_t *)body, (ssize_t)len, &berr)) == NULL) {
        /* Quoted only when it does not start like JSON (cut short, it could hold a secret). */
        for (i = 0; i < len && strchr(" \t\r\n", body[i]) != NULL; i++)
            ;
        if (i < len && body[i] == '{')
            return (wtkms_errf(err, EPROTO,
              "AWS credentials from %s: the answer is %zu bytes of JSON that is cut short or "
              "malformed",
              source, len));
        for (i = 0; i < len && i < 40; i++)
            text[i] = body[i] >= 0x20 && body[i] < 0x7f && body[i] != '"' ? body[i] : '?';
        text[i] = '\0';
        return (wtkms_errf(err, EPROTO,
          "AWS credentials from %s: the answer is not JSON (it begins \"%s\")", source, text));
    }
    ak = sk = tok = exp = code = NULL;
    ak_len = sk_len = tok_len = 0;
    if (bson_iter_init_find(&it, doc, "Code") && BSON_ITER_HOLDS_UTF8(&it))
        code = bson_iter_utf8(&it, NULL);
    if (bson_iter_init_find(&it, doc, "AccessKeyId") && BSON_ITER_HOLDS_UTF8(&it))
        ak = bson_iter_utf8(&it, &ak_len);
    if (bson_iter_init_find(&it, doc, "SecretAccessKey") && BSON_ITER_HOLDS_UTF8(&it))
        sk = bson_iter_utf8(&it, &sk_len);
    if (bson_iter_init_find(&it, doc, "Token") && BSON_ITER_HOLDS_UTF8(&it))
        tok = bson_iter_utf8(&it, &tok_len);
    if (bson_iter_init_find(&it, doc, "Expiration") && BSON_ITER_HOLDS_UTF8(&it))
        exp = bson_iter_utf8(&it, NULL);
    if (code != NULL && strcmp(code, "Success") != 0)
        ret =
          wtkms_errf(err, EACCES, "AWS credentials from %s: the service says %.100s", source, code);
    else if (ak == NULL || sk == NULL)
        ret = wtkms_errf(err, EPROTO,
          "AWS credentials from %s: the answer has no AccessKeyId/SecretAccessKey", source);
    else if (exp != NULL && (expires = wtkms_aws_parse_time(exp)) < 0)
        ret = wtkms_errf(err, EPROTO,
          "AWS credentials from %s: Expiration \"%.40s\" is not an ISO 8601 time", source, exp);
    else
        ret = wtkms_aws_creds_set(
          c, ak, ak_len, sk, sk_len, tok, tok_len, exp != NULL ? expires : 0, source, err);
    wtkms_wipe((void *)bson_get_data(doc), doc->len);
    bson_destroy(doc);
    return (ret);
}

/*
 * metadata_opts --
 *     Instance-metadata endpoints are local and fast: short timeouts, few tries.
 */
static void
metadata_opts(const wtkms_aws_cred_cfg *cfg, wtkms_http_opts *o)
{
    *o = *cfg->http;
    o->connect_timeout_ms = o->connect_timeout_ms < 1000 ? o->connect_timeout_ms : 1000;
    o->timeout_ms = o->timeout_ms < 2000 ? o->timeout_ms : 2000;
    o->deadline_ms = o->deadline_ms < 5000 ? o->deadline_ms : 5000;
    o->max_attempts = o->max_attempts < 2 ? o->max_attempts : 2;
}

/*
 * ecs_host_allowed --
 *     The SDKs' rule for AWS_CONTAINER_CREDENTIALS_FULL_URI: https anywhere, http only to this
 *     host or the ECS/EKS agent addresses (a token must not cross the network in clear).
 */
static bool
ecs_host_allowed(const char *url)
{
    CURLU *u;
    char *scheme, *host;
    bool ok;

    if (wtkms_http_url_safe(url))
        return (true);
    ok = false;
    scheme = host = NULL;
    if ((u = curl_url()) == NULL)
        return (false);
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        ok = strcmp(scheme, "http") == 0 &&
             (strcmp(host, "169.254.170.2") == 0 || strcmp(host, "169.254.170.23") == 0 ||
               strcmp(host, "[fd00:ec2::23]") == 0);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return (ok);
}

/*
 * wtkms_aws_src_ecs --
 *     ECS/EKS container credentials.
 */
int
wtkms_aws_src_ecs(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err)
{
    wtkms_http_opts o;
    wtkms_http_req req;
    wtkms_http_resp resp;
    const char *rel, *full, *tokfile, *tokenv;
    char url[2048], source[2100], *buf, *tok, *hdr;
    size_t tok_len, hdr_len;
    int ret;

    rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (rel != NULL && rel[0] != '\0')
        (void)snprintf(url, sizeof(url), "%s%s", ECS_HOST, rel);
    else if (full != NULL && full[0] != '\0') {
        (void)snprintf(url, sizeof(url), "%s", full);
        if (!ecs_host_allowed(url))
            return (wtkms_errf(err, EACCES,
              "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback or ECS/EKS "
              "agent address: refusing %s",
              url));
    } else
        return (WTKMS_AWS_NOT_HERE);
    (void)snprintf(source, sizeof(source), "container credentials at %s", url);

    buf = hdr = NULL;
    hdr_len = 0;
    memset(&resp, 0, sizeof(resp));
    tokfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    tokenv = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    tok = NULL;
    if (tokfile != NULL && tokfile[0] != '\0') {
        if ((ret = wtkms_aws_read_secret_file(
               tokfile, "container authorization token file", &buf, &tok, &tok_len, err)) != 0)
            goto done;
    } else if (tokenv != NULL && tokenv[0] != '\0')
        tok = (char *)tokenv;
    if (tok != NULL) {
        hdr_len = strlen(tok) + 32;
        if ((hdr = wtkms_secure_alloc(hdr_len)) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            goto done;
        }
        if (!wtkms_header_value_ok(tok)) {
            ret = wtkms_errf(err, EACCES,
              "the container authorization token has control characters (CR, LF, ...)");
            goto done;
        }
        (void)snprintf(hdr, hdr_len, "Authorization: %s", tok);
    }
    metadata_opts(cfg, &o);
    memset(&req, 0, sizeof(req));
    req.what = "AWS container credentials request";
    req.setting = rel != NULL && rel[0] != '\0' ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                                                : "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    req.method = "GET";
    req.url = url;
    req.no_proxy = true;
    req.metadata = true;
    req.secret_header = hdr;
    if ((ret = wtkms_http_request(&o, &req, &resp, err)) != 0)
        goto done;
    if (resp.status >= 500 || resp.status == 429) {
        ret = wtkms_errf(err, EAGAIN,
          "AWS credentials from %s: the container credentials service failed after %d attempt%s "
          "(HTTP %ld): retry later",
          source, resp.attempts, resp.attempts == 1 ? "" : "s", resp.status);
        goto done;
    }
    if (resp.status != 200) {
        ret = wtkms_errf(err, EACCES,
          "AWS credentials from %s: HTTP %ld (check the task role and "
          "AWS_CONTAINER_AUTHORIZATION_TOKEN)",
          source, resp.status);
        goto done;
    }
    ret = json_creds(resp.body, resp.body_len, source, c, err);
done:
    wtkms_http_resp_free(&resp);
    if (buf != NULL) {
        wtkms_wipe(buf, strlen(buf));
        free(buf);
    }
    if (hdr != NULL)
        wtkms_secure_free(hdr, hdr_len);
    return (ret);
}

/*
 * wtkms_aws_src_imds --
 *     EC2 instance metadata, IMDSv2: a session token, the role name, the role's credentials.
 */
int
wtkms_aws_src_imds(
  const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, char *why, size_t whylen, wtkms_err *err)
{
    static const char *const ttl[] = { "X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL };
    wtkms_http_opts o;
    wtkms_http_req req;
    wtkms_http_resp resp;
    wtkms_err e2;
    const char *env, *dis;
    char base[1024], url[1400], role[256], source[1500], *hdr, *nl;
    bool explicit_endpoint;
    int ret;

    dis = getenv("AWS_EC2_METADATA_DISABLED");
    if (dis != NULL && strcasecmp(dis, "true") == 0) {
        (void)snprintf(why, whylen, "EC2 instance metadata disabled (AWS_EC2_METADATA_DISABLED)");
        return (WTKMS_AWS_NOT_HERE);
    }
    env = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    explicit_endpoint = env != NULL && env[0] != '\0';
    (void)snprintf(base, sizeof(base), "%s", explicit_endpoint ? env : IMDS_DEFAULT);
    while (base[0] != '\0' && base[strlen(base) - 1] == '/')
        base[strlen(base) - 1] = '\0';
    metadata_opts(cfg, &o);
    memset(&resp, 0, sizeof(resp));
    hdr = NULL;
    wtkms_err_clear(&e2);

    /* The session token: a PUT (which a misconfigured proxy or SSRF cannot forward). */
    (void)snprintf(url, sizeof(url), "%s/latest/api/token", base);
    memset(&req, 0, sizeof(req));
    req.what = "EC2 instance metadata (IMDSv2 token)";
    req.setting =
      explicit_endpoint ? "AWS_EC2_METADATA_SERVICE_ENDPOINT" : "the EC2 instance metadata address";
    req.method = "PUT";
    req.url = url;
    req.headers = ttl;
    req.no_proxy = true;
    req.metadata = true;
    req.max_body = 4096;
    if ((ret = wtkms_http_request(&o, &req, &resp, &e2)) != 0) {
        if (explicit_endpoint)
            return (wtkms_errf(err, e2.code, "%s (AWS_EC2_METADATA_SERVICE_ENDPOINT)", e2.msg));
        (void)snprintf(why, whylen, "no EC2 instance metadata at %s", base);
        return (WTKMS_AWS_NOT_HERE);
    }
    if (resp.status != 200 || resp.body_len == 0 || resp.body_len > 2000) {
        ret = wtkms_errf(err, EACCES,
          "EC2 instance metadata at %s refused an IMDSv2 session token (HTTP %ld): check the "
          "instance's metadata options (hop limit, IMDSv2)",
          base, resp.status);
        goto done;
    }
    if ((hdr = wtkms_secure_alloc(2100)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto done;
    }
    if (!wtkms_header_value_ok(wtkms_aws_trim(resp.body))) {
        ret = wtkms_errf(err, EPROTO,
          "EC2 instance metadata at %s answered an IMDSv2 session token with control characters "
          "(CR, LF, ...): refusing to put it in a request header; check "
          "AWS_EC2_METADATA_SERVICE_ENDPOINT",
          base);
        goto done;
    }
    (void)snprintf(hdr, 2100, "X-aws-ec2-metadata-token: %s", wtkms_aws_trim(resp.body));
    wtkms_http_resp_free(&resp);

    /* The role attached to the instance. */
    (void)snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", base);
    req.what = "EC2 instance metadata (role name)";
    req.method = "GET";
    req.headers = NULL;
    req.secret_header = hdr;
    if ((ret = wtkms_http_request(&o, &req, &resp, err)) != 0)
        goto done;
    if (resp.status == 404) {
        ret = wtkms_errf(err, EACCES,
          "EC2 instance metadata at %s: this instance has no IAM role: attach an instance "
          "profile whose role may use the key",
          base);
        goto done;
    }
    if (resp.status != 200) {
        ret = wtkms_errf(err, EACCES, "EC2 instance metadata at %s: HTTP %ld for the role name",
          base, resp.status);
        goto done;
    }
    if ((nl = strchr(resp.body, '\n')) != NULL)
        *nl = '\0';
    (void)snprintf(role, sizeof(role), "%s", wtkms_aws_trim(resp.body));
    wtkms_http_resp_free(&resp);
    if (role[0] == '\0' || strchr(role, '/') != NULL || strchr(role, '?') != NULL) {
        ret = wtkms_errf(err, EPROTO, "EC2 instance metadata at %s: no usable role name", base);
        goto done;
    }

    /* The role's credentials. */
    (void)snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    (void)snprintf(source, sizeof(source), "EC2 instance role %s (metadata at %s)", role, base);
    req.what = "EC2 instance metadata (role credentials)";
    req.max_body = 64 * 1024;
    if ((ret = wtkms_http_request(&o, &req, &resp, err)) != 0)
        goto done;
    if (resp.status != 200) {
        ret = wtkms_errf(err, resp.status >= 500 || resp.status == 429 ? EAGAIN : EACCES,
          "AWS credentials from %s: HTTP %ld%s", source, resp.status,
          resp.status >= 500 || resp.status == 429
            ? ": the metadata service failed after every attempt; retry later"
            : "");
        goto done;
    }
    ret = json_creds(resp.body, resp.body_len, source, c, err);
done:
    wtkms_http_resp_free(&resp);
    if (hdr != NULL)
        wtkms_secure_free(hdr, 2100);
    return (ret);
}
