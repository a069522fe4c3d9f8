/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_creds_sts.c -- the AWS credential chain's calls to STS: AssumeRoleWithWebIdentity (EKS and
 * other OIDC federations, AWS_WEB_IDENTITY_TOKEN_FILE) and AssumeRole (role_arn=) with the
 * chain's credentials. The chain: aws_creds.c.
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

/*
 * xml_text --
 *     The text of the first <tag>...</tag>, entities decoded. 0, ENOENT or ERANGE.
 */
static int
xml_text(const char *xml, const char *tag, char *out, size_t outlen)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
        { "&apos;", '\'' } };
    const char *s, *e;
    char open[64], close[64];
    size_t n, i;

    (void)snprintf(open, sizeof(open), "<%s>", tag);
    (void)snprintf(close, sizeof(close), "</%s>", tag);
    if ((s = strstr(xml, open)) == NULL)
        return (ENOENT);
    s += strlen(open);
    if ((e = strstr(s, close)) == NULL)
        return (ENOENT);
    for (n = 0; s < e; s++) {
        if (n + 1 >= outlen)
            return (ERANGE);
        if (*s == '&')
            for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
                if (strncmp(s, ents[i].ent, strlen(ents[i].ent)) == 0) {
                    out[n++] = ents[i].c;
                    s += strlen(ents[i].ent) - 1;
                    goto next;
                }
        out[n++] = *s;
    next:;
    }
    out[n] = '\0';
    return (0);
}

/*
 * sts_classify --
 *     STS throttles with HTTP 400 and <Code>Throttling</Code>.
 */
static int
sts_classify(const wtkms_http_resp *resp, void *arg)
{
    if (resp->status == 400 && resp->body != NULL &&
        (strstr(resp->body, "<Code>Throttling</Code>") != NULL ||
          strstr(resp->body, "<Code>RequestLimitExceeded</Code>") != NULL))
        return (WTKMS_HTTP_RETRY);
    return (wtkms_http_classify_default(resp, arg));
}

/*
 * sts_call --
 *     One STS query call (AssumeRole or AssumeRoleWithWebIdentity); signer NULL = unsigned.
 */
static int
sts_call(const wtkms_aws_cred_cfg *cfg, const char *action, const char *form,
  const wtkms_aws_creds *signer, const char *source, wtkms_aws_creds *c, wtkms_err *err)
{
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8", "Accept: text/xml", NULL
    };
    wtkms_http_req req;
    wtkms_http_resp resp;
    char url[600], sigv4[128], what[128], code[128], msg[300], ak[128], exp[64];
    char *sk, *tok;
    int64_t expires;
    int ret;

    sk = tok = NULL;
    if (cfg->sts_endpoint != NULL && cfg->sts_endpoint[0] != '\0') {
        if ((ret = wtkms_http_check_endpoint(NULL, "sts_endpoint", cfg->sts_endpoint, err)) != 0)
            return (ret);
        (void)snprintf(url, sizeof(url), "%s", cfg->sts_endpoint);
    } else
        (void)snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com/", cfg->region);
    (void)snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:sts", cfg->region);
    (void)snprintf(what, sizeof(what), "AWS STS %s", action);
    memset(&req, 0, sizeof(req));
    req.what = what;
    req.method = "POST";
    req.url = url;
    req.setting = cfg->sts_endpoint != NULL && cfg->sts_endpoint[0] != '\0'
                    ? "sts_endpoint="
                    : "region= (the regional STS endpoint)";
    req.headers = headers;
    req.body = form;
    req.body_len = strlen(form);
    req.classify = sts_classify;
    if (signer != NULL) {
        req.sigv4 = sigv4;
        req.access_key = signer->access_key;
        req.secret_key = signer->secret;
        req.session_token = signer->token[0] != '\0' ? signer->token : NULL;
    }
    if ((ret = wtkms_http_request(cfg->http, &req, &resp, err)) != 0)
        return (wtkms_err_prefix(err, "AWS credentials from %s", source));
    if (resp.status != 200) {
        if (xml_text(resp.body, "Code", code, sizeof(code)) != 0)
            (void)snprintf(code, sizeof(code), "HTTP %ld", resp.status);
        if (xml_text(resp.body, "Message", msg, sizeof(msg)) != 0)
            msg[0] = '\0';
        if (resp.status >= 500 || resp.status == 429 || strcmp(code, "Throttling") == 0 ||
            strcmp(code, "RequestLimitExceeded") == 0)
            ret = wtkms_errf(err, EAGAIN,
              "AWS STS %s at %s failed after %d attempt%s (HTTP %ld, %s%s%s%s): the service is "
              "unavailable, not refusing the credentials from %s; retry later",
              action, url, resp.attempts, resp.attempts == 1 ? "" : "s", resp.status, code,
              msg[0] ? ": " : "", msg, "", source);
        else
            ret = wtkms_errf(err, EACCES,
              "AWS STS %s at %s refused credentials from %s: %s%s%s%s (check the role's trust "
              "policy, role_arn=, external_id= and the caller's sts:%s permission)",
              action, url, source, code, msg[0] ? " (" : "", msg, msg[0] ? ")" : "", action);
        goto done;
    }
    if ((sk = wtkms_secure_alloc(WTKMS_AWS_SECRET_MAX)) == NULL ||
        (tok = wtkms_secure_alloc(WTKMS_AWS_TOKEN_MAX)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto done;
    }
    if (xml_text(resp.body, "AccessKeyId", ak, sizeof(ak)) != 0 ||
        xml_text(resp.body, "SecretAccessKey", sk, WTKMS_AWS_SECRET_MAX) != 0 ||
        xml_text(resp.body, "SessionToken", tok, WTKMS_AWS_TOKEN_MAX) != 0 ||
        xml_text(resp.body, "Expiration", exp, sizeof(exp)) != 0 ||
        (expires = wtkms_aws_parse_time(exp)) < 0) {
        ret = wtkms_errf(err, EPROTO,
          "AWS STS %s at %s answered without complete credentials (AccessKeyId, "
          "SecretAccessKey, SessionToken, Expiration): check sts_endpoint=",
          action, url);
        goto done;
    }
    ret = wtkms_aws_creds_set(
      c, ak, strlen(ak), sk, strlen(sk), tok, strlen(tok), expires, source, err);
done:
    if (sk != NULL)
        wtkms_secure_free(sk, WTKMS_AWS_SECRET_MAX);
    if (tok != NULL)
        wtkms_secure_free(tok, WTKMS_AWS_TOKEN_MAX);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * session_name --
 *     The role session name: the setting, the environment, or "wtkms".
 */
static const char *
session_name(const wtkms_aws_cred_cfg *cfg, const char *env)
{
    const char *s;

    if (cfg->role_session_name != NULL && cfg->role_session_name[0] != '\0')
        return (cfg->role_session_name);
    if (env != NULL && (s = getenv(env)) != NULL && s[0] != '\0')
        return (s);
    return ("wtkms");
}

/*
 * wtkms_aws_src_web_identity --
 *     AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN through AssumeRoleWithWebIdentity.
 */
int
wtkms_aws_src_web_identity(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err)
{
    wtkms_dbuf form;
    const char *file, *role;
    char *buf, *tok, source[1200];
    size_t tok_len;
    int ret;

    file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    role = getenv("AWS_ROLE_ARN");
    if ((file == NULL || file[0] == '\0') && (role == NULL || role[0] == '\0'))
        return (WTKMS_AWS_NOT_HERE);
    if (file == NULL || file[0] == '\0' || role == NULL || role[0] == '\0')
        return (wtkms_errf(err, EACCES,
          "web identity: the environment sets %s but not %s: set both (as EKS does), or neither",
          file != NULL && file[0] ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
          file != NULL && file[0] ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE"));
    buf = NULL;
    memset(&form, 0, sizeof(form));
    if ((ret = wtkms_aws_read_secret_file(
           file, "web identity token file", &buf, &tok, &tok_len, err)) != 0)
        goto done;
    form.max = tok_len * 3 + 2048 - 1;
    form.locked = true; /* it carries the token */
    (void)snprintf(source, sizeof(source), "web identity (role %s, token file %s)", role, file);
    (void)wtkms_http_form_add(&form, "Action", "AssumeRoleWithWebIdentity");
    (void)wtkms_http_form_add(&form, "Version", "2011-06-15");
    (void)wtkms_http_form_add(&form, "RoleArn", role);
    (void)wtkms_http_form_add(&form, "RoleSessionName", session_name(cfg, "AWS_ROLE_SESSION_NAME"));
    if ((ret = wtkms_http_form_add(&form, "WebIdentityToken", tok)) != 0) {
        ret = ret == ENOMEM
                ? wtkms_errf(err, ENOMEM, "out of memory")
                : wtkms_errf(err, EINVAL, "web identity: role ARN or session name too long");
        goto done;
    }
    ret = sts_call(cfg, "AssumeRoleWithWebIdentity", form.s, NULL, source, c, err);
done:
    if (buf != NULL) {
        wtkms_wipe(buf, strlen(buf));
        free(buf);
    }
    wtkms_dbuf_free(&form);
    return (ret);
}

/*
 * wtkms_aws_assume_role --
 *     STS AssumeRole with base credentials; the role's credentials replace them in c.
 */
int
wtkms_aws_assume_role(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err)
{
    wtkms_aws_creds *base;
    wtkms_dbuf form;
    char source[1400];
    int ret;

    if ((ret = wtkms_aws_creds_new(&base)) != 0)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    /* Move the base credentials aside; c receives the role's. */
    memcpy(base->access_key, c->access_key, sizeof(c->access_key));
    memcpy(base->secret, c->secret, WTKMS_AWS_SECRET_MAX);
    memcpy(base->token, c->token, WTKMS_AWS_TOKEN_MAX);
    memcpy(base->source, c->source, sizeof(c->source));
    memset(&form, 0, sizeof(form));
    form.max = 4096 - 1;
    (void)wtkms_http_form_add(&form, "Action", "AssumeRole");
    (void)wtkms_http_form_add(&form, "Version", "2011-06-15");
    (void)wtkms_http_form_add(&form, "RoleArn", cfg->role_arn);
    (void)wtkms_http_form_add(&form, "RoleSessionName", session_name(cfg, NULL));
    (void)wtkms_http_form_add(&form, "DurationSeconds", "3600");
    if (cfg->external_id != NULL && cfg->external_id[0] != '\0')
        (void)wtkms_http_form_add(&form, "ExternalId", cfg->external_id);
    if (form.error != 0) {
        ret = form.error == ENOMEM
                ? wtkms_errf(err, ENOMEM, "out of memory")
                : wtkms_errf(err, EINVAL, "role_arn, role_session_name or external_id too long");
        wtkms_dbuf_free(&form);
        wtkms_aws_creds_free(base);
        return (ret);
    }
    (void)snprintf(source, sizeof(source), "role %s assumed with %s", cfg->role_arn, base->source);
    ret = sts_call(cfg, "AssumeRole", form.s, base, source, c, err);
    wtkms_dbuf_free(&form);
    wtkms_aws_creds_free(base);
    return (ret);
}
