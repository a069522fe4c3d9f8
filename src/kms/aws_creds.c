/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_creds.c -- the AWS credential chain: see aws_creds.h for the order.
 *
 * Every source either is not configured here (NOT_HERE: try the next one, remembering why for
 * the final message), yields credentials (0), or is configured but broken (an error naming the
 * source: a DBA who set AWS_PROFILE=prod wants to hear that prod is missing, not that the
 * instance role was used instead).
 */
#include "aws_creds.h"

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

#include "fileio.h"
#include "secure.h"

#define NOT_HERE (-1)
#define FILE_MAX (1024 * 1024)
#define WEB_TOKEN_MAX (64 * 1024)
#define IMDS_DEFAULT "http://169.254.169.254"
#define ECS_HOST "http://169.254.170.2"

/*
 * wtkms_aws_creds_new --
 *     Empty credentials with locked secret storage.
 */
int
wtkms_aws_creds_new(wtkms_aws_creds **cp)
{
    wtkms_aws_creds *c;

    *cp = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return (ENOMEM);
    c->secret = wtkms_secure_alloc(WTKMS_AWS_SECRET_MAX);
    c->token = wtkms_secure_alloc(WTKMS_AWS_TOKEN_MAX);
    if (c->secret == NULL || c->token == NULL) {
        wtkms_aws_creds_free(c);
        return (ENOMEM);
    }
    *cp = c;
    return (0);
}

/*
 * wtkms_aws_creds_free --
 *     Wipe and free.
 */
void
wtkms_aws_creds_free(wtkms_aws_creds *c)
{
    if (c == NULL)
        return;
    if (c->secret != NULL)
        wtkms_secure_free(c->secret, WTKMS_AWS_SECRET_MAX);
    if (c->token != NULL)
        wtkms_secure_free(c->token, WTKMS_AWS_TOKEN_MAX);
    wtkms_wipe(c, sizeof(*c));
    free(c);
}

/*
 * creds_clear --
 *     Forget whatever credentials are held.
 */
static void
creds_clear(wtkms_aws_creds *c)
{
    c->access_key[0] = '\0';
    wtkms_wipe(c->secret, WTKMS_AWS_SECRET_MAX);
    wtkms_wipe(c->token, WTKMS_AWS_TOKEN_MAX);
    c->expires_ms = 0;
    c->source[0] = '\0';
}

/*
 * creds_set --
 *     Fill credentials, checking their shape (lengths only: AWS is the judge of the rest).
 */
static int
creds_set(wtkms_aws_creds *c, const char *ak, size_t ak_len, const char *sk, size_t sk_len,
  const char *tok, size_t tok_len, int64_t expires_ms, const char *source, wtkms_err *err)
{
    creds_clear(c);
    if (ak_len == 0 || sk_len == 0)
        return (wtkms_errf(err, EACCES,
          "AWS credentials from %s are incomplete: both an access key id and a secret access key "
          "are needed",
          source));
    if (ak_len >= sizeof(c->access_key) || sk_len >= WTKMS_AWS_SECRET_MAX ||
        tok_len >= WTKMS_AWS_TOKEN_MAX)
        return (wtkms_errf(err, EACCES,
          "AWS credentials from %s are malformed: a key or token is longer than AWS issues",
          source));
    memcpy(c->access_key, ak, ak_len);
    c->access_key[ak_len] = '\0';
    memcpy(c->secret, sk, sk_len);
    c->secret[sk_len] = '\0';
    if (tok_len > 0)
        memcpy(c->token, tok, tok_len);
    c->token[tok_len] = '\0';
    c->expires_ms = expires_ms;
    (void)snprintf(c->source, sizeof(c->source), "%s", source);
    return (0);
}

/*
 * wtkms_aws_creds_fresh --
 *     Whether the credentials outlive the refresh window.
 */
bool
wtkms_aws_creds_fresh(const wtkms_aws_creds *c)
{
    struct timespec ts;
    int64_t now;

    if (c->access_key[0] == '\0')
        return (false);
    if (c->expires_ms == 0)
        return (true);
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return (now + WTKMS_AWS_REFRESH_MS < c->expires_ms);
}

/*
 * wtkms_aws_parse_time --
 *     ISO 8601 as AWS writes it, to milliseconds since the epoch.
 */
int64_t
wtkms_aws_parse_time(const char *s)
{
    struct tm tm;
    const char *p;
    time_t t;
    int y, mo, d, h, mi, sec, n, oh, om, sign;

    n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n == 0)
        return (-1);
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || sec < 0 || sec > 60)
        return (-1);
    p = s + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    oh = om = 0;
    sign = 1;
    if (*p == 'Z' || *p == 'z')
        p++;
    else if (*p == '+' || *p == '-') {
        /* Exactly "hh:mm": each test stops at the string's end, so nothing past it is read. */
        sign = *p == '-' ? -1 : 1;
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
            !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
            return (-1);
        oh = (p[1] - '0') * 10 + (p[2] - '0');
        om = (p[4] - '0') * 10 + (p[5] - '0');
        if (oh > 23 || om > 59)
            return (-1);
        p += 6;
    } else if (*p != '\0')
        return (-1);
    if (*p != '\0')
        return (-1);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if ((t = timegm(&tm)) == (time_t)-1)
        return (-1);
    t -= sign * (oh * 3600 + om * 60);
    return ((int64_t)t * 1000);
}

/*
 * trim --
 *     Strip blanks at both ends in place.
 */
static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    for (e = s + strlen(s);
         e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'); e--)
        ;
    *e = '\0';
    return (s);
}

/*
 * read_secret_file --
 *     Read a small file holding one secret (a token), trimmed. *bufp is wiped by the caller.
 */
static int
read_secret_file(
  const char *path, const char *what, char **bufp, char **valp, size_t *lenp, wtkms_err *err)
{
    size_t len;

    if (wtkms_read_file(path, WEB_TOKEN_MAX, bufp, &len, err) != 0)
        return (wtkms_err_prefix(err, "%s", what));
    *valp = trim(*bufp);
    *lenp = strlen(*valp);
    if (*lenp == 0)
        return (wtkms_errf(err, EACCES, "%s %s is empty", what, path));
    return (0);
}

/*
 * ini_creds --
 *     Static keys of one profile in an AWS shared credentials or config file. config_style: the
 *     config file names sections "profile NAME" (and "default").
 */
static int
ini_creds(const char *path, const char *profile, bool config_style, bool must_exist,
  wtkms_aws_creds *c, wtkms_err *err)
{
    struct stat sb;
    size_t len;
    char *buf, *line, *next, *k, *v, *ak, *sk, *tok, *name, *e, source[600];
    bool in_section, seen_section;
    int ret;

    buf = NULL;
    if (must_exist) {
        /*
         * credentials_file=: mode 600 (or 400) and owned by this user or root, checked on the
         * descriptor that is read, as for key files.
         */
        if ((ret = wtkms_read_private_file(
               path, "AWS credentials file", FILE_MAX, &buf, &len, err)) != 0) {
            (void)wtkms_err_prefix(err, "credentials_file=");
            err->code = ret == ENOENT ? ENOENT : EACCES;
            return (err->code);
        }
    } else {
        if (stat(path, &sb) != 0) {
            if (errno == ENOENT)
                return (NOT_HERE);
            return (wtkms_errf(err, EACCES, "AWS credentials file %s: %s", path, strerror(errno)));
        }
        if ((ret = wtkms_read_file(path, FILE_MAX, &buf, &len, err)) != 0)
            return (wtkms_err_prefix(err, "AWS credentials file"));
    }
    (void)snprintf(source, sizeof(source), "%s %s (profile %s)",
      config_style ? "AWS config file" : "credentials file", path, profile);

    ak = sk = tok = NULL;
    in_section = seen_section = false;
    for (line = buf; line != NULL; line = next) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        line = trim(line);
        if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
            continue;
        if (line[0] == '[') {
            if ((e = strchr(line, ']')) == NULL) {
                in_section = false;
                continue;
            }
            *e = '\0';
            name = trim(line + 1);
            if (config_style && strncmp(name, "profile ", 8) == 0)
                name = trim(name + 8);
            else if (config_style && strcmp(name, "default") != 0) {
                in_section = false;
                continue;
            }
            in_section = strcmp(name, profile) == 0;
            seen_section = seen_section || in_section;
            continue;
        }
        if (!in_section || (e = strchr(line, '=')) == NULL)
            continue;
        *e = '\0';
        k = trim(line);
        v = trim(e + 1);
        if (strcasecmp(k, "aws_access_key_id") == 0)
            ak = v;
        else if (strcasecmp(k, "aws_secret_access_key") == 0)
            sk = v;
        else if (strcasecmp(k, "aws_session_token") == 0 ||
                 strcasecmp(k, "aws_security_token") == 0)
            tok = v;
    }
    if (ak == NULL && sk == NULL)
        ret = must_exist
                ? wtkms_errf(err, EACCES,
                    "%s: %s: put aws_access_key_id and aws_secret_access_key under "
                    "[%s%s], or set profile= to the profile that has them",
                    source, seen_section ? "the profile has no static keys" : "no such profile",
                    config_style && strcmp(profile, "default") != 0 ? "profile " : "", profile)
                : NOT_HERE;
    else if (ak == NULL || sk == NULL)
        ret = wtkms_errf(err, EACCES, "%s has %s but no %s", source,
          ak == NULL ? "aws_secret_access_key" : "aws_access_key_id",
          ak == NULL ? "aws_access_key_id" : "aws_secret_access_key");
    else
        ret =
          creds_set(c, ak, strlen(ak), sk, strlen(sk), tok, tok ? strlen(tok) : 0, 0, source, err);
    wtkms_wipe(buf, len);
    free(buf);
    return (ret);
}

/*
 * src_env --
 *     AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
 */
static int
src_env(wtkms_aws_creds *c, wtkms_err *err)
{
    const char *ak, *sk, *tok;

    ak = getenv("AWS_ACCESS_KEY_ID");
    sk = getenv("AWS_SECRET_ACCESS_KEY");
    tok = getenv("AWS_SESSION_TOKEN");
    if ((ak == NULL || ak[0] == '\0') && (sk == NULL || sk[0] == '\0'))
        return (NOT_HERE);
    if (ak == NULL || ak[0] == '\0' || sk == NULL || sk[0] == '\0')
        return (wtkms_errf(err, EACCES, "the environment sets %s but not %s: set both, or neither",
          ak != NULL && ak[0] ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
          ak != NULL && ak[0] ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
    return (creds_set(c, ak, strlen(ak), sk, strlen(sk), tok, tok ? strlen(tok) : 0, 0,
      "the environment (AWS_ACCESS_KEY_ID)", err));
}

/*
 * src_shared --
 *     The shared credentials file, then the shared config file.
 */
static int
src_shared(
  const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, char *why, size_t whylen, wtkms_err *err)
{
    const char *home, *profile, *p;
    char path[4096], cpath[4096];
    bool explicit_profile;
    int ret, ret2;

    home = getenv("HOME");
    explicit_profile = true;
    if ((profile = cfg->profile) == NULL || profile[0] == '\0')
        profile = getenv("AWS_PROFILE");
    if (profile == NULL || profile[0] == '\0') {
        profile = "default";
        explicit_profile = false;
    }
    if ((p = getenv("AWS_SHARED_CREDENTIALS_FILE")) != NULL && p[0] != '\0')
        (void)snprintf(path, sizeof(path), "%s", p);
    else
        (void)snprintf(path, sizeof(path), "%s/.aws/credentials", home ? home : "");
    if ((p = getenv("AWS_CONFIG_FILE")) != NULL && p[0] != '\0')
        (void)snprintf(cpath, sizeof(cpath), "%s", p);
    else
        (void)snprintf(cpath, sizeof(cpath), "%s/.aws/config", home ? home : "");

    if ((ret = ini_creds(path, profile, false, false, c, err)) != NOT_HERE)
        return (ret);
    if ((ret2 = ini_creds(cpath, profile, true, false, c, err)) != NOT_HERE)
        return (ret2);
    if (explicit_profile)
        return (wtkms_errf(err, EACCES,
          "AWS profile %s (from %s) has no static keys in %s or %s: add them, or unset the "
          "profile (role, SSO and credential_process profiles are not supported: use role_arn=)",
          profile, cfg->profile != NULL && cfg->profile[0] ? "profile=" : "AWS_PROFILE", path,
          cpath));
    if (snprintf(why, whylen, "no profile %s in %s or %s", profile, path, cpath) >= (int)whylen)
        why[whylen - 1] = '\0';
    return (NOT_HERE);
}

/*
 * form_append --
 *     Append "&name=value" (percent-encoded) to a form body; value may be a secret.
 */
static int
form_append(char *out, size_t outlen, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n;
    const unsigned char *v;

    n = strlen(out);
    if (n + strlen(name) + 2 >= outlen)
        return (ERANGE);
    n += (size_t)snprintf(out + n, outlen - n, "%s%s=", n > 0 ? "&" : "", name);
    for (v = (const unsigned char *)value; *v != '\0'; v++) {
        if (n + 4 >= outlen)
            return (ERANGE);
        if (isalnum(*v) || *v == '-' || *v == '_' || *v == '.' || *v == '~')
            out[n++] = (char)*v;
        else {
            out[n++] = '%';
            out[n++] = hex[*v >> 4];
            out[n++] = hex[*v & 0xf];
        }
    }
    out[n] = '\0';
    return (0);
}

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
    ret = creds_set(c, ak, strlen(ak), sk, strlen(sk), tok, strlen(tok), expires, source, err);
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
 * src_web_identity --
 *     AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN through AssumeRoleWithWebIdentity.
 */
static int
src_web_identity(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err)
{
    const char *file, *role;
    char *buf, *tok, *form, source[1200];
    size_t tok_len, form_len;
    int ret;

    file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    role = getenv("AWS_ROLE_ARN");
    if ((file == NULL || file[0] == '\0') && (role == NULL || role[0] == '\0'))
        return (NOT_HERE);
    if (file == NULL || file[0] == '\0' || role == NULL || role[0] == '\0')
        return (wtkms_errf(err, EACCES,
          "web identity: the environment sets %s but not %s: set both (as EKS does), or neither",
          file != NULL && file[0] ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
          file != NULL && file[0] ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE"));
    buf = form = NULL;
    form_len = 0;
    if ((ret = read_secret_file(file, "web identity token file", &buf, &tok, &tok_len, err)) != 0)
        goto done;
    form_len = tok_len * 3 + 2048;
    if ((form = wtkms_secure_alloc(form_len)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto done;
    }
    (void)snprintf(source, sizeof(source), "web identity (role %s, token file %s)", role, file);
    if (form_append(form, form_len, "Action", "AssumeRoleWithWebIdentity") != 0 ||
        form_append(form, form_len, "Version", "2011-06-15") != 0 ||
        form_append(form, form_len, "RoleArn", role) != 0 ||
        form_append(
          form, form_len, "RoleSessionName", session_name(cfg, "AWS_ROLE_SESSION_NAME")) != 0 ||
        form_append(form, form_len, "WebIdentityToken", tok) != 0) {
        ret = wtkms_errf(err, EINVAL, "web identity: role ARN or session name too long");
        goto done;
    }
    ret = sts_call(cfg, "AssumeRoleWithWebIdentity", form, NULL, source, c, err);
done:
    if (buf != NULL) {
        wtkms_wipe(buf, strlen(buf));
        free(buf);
    }
    if (form != NULL)
        wtkms_secure_free(form, form_len);
    return (ret);
}

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
        ret = creds_set(
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
 * src_ecs --
 *     ECS/EKS container credentials.
 */
static int
src_ecs(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err)
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
        return (NOT_HERE);
    (void)snprintf(source, sizeof(source), "container credentials at %s", url);

    buf = hdr = NULL;
    hdr_len = 0;
    memset(&resp, 0, sizeof(resp));
    tokfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    tokenv = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    tok = NULL;
    if (tokfile != NULL && tokfile[0] != '\0') {
        if ((ret = read_secret_file(
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
 * src_imds --
 *     EC2 instance metadata, IMDSv2: a session token, the role name, the role's credentials.
 */
static int
src_imds(
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
        return (NOT_HERE);
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
        return (NOT_HERE);
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
    if (!wtkms_header_value_ok(trim(resp.body))) {
        ret = wtkms_errf(err, EPROTO,
          "EC2 instance metadata at %s answered an IMDSv2 session token with control characters "
          "(CR, LF, ...): refusing to put it in a request header; check "
          "AWS_EC2_METADATA_SERVICE_ENDPOINT",
          base);
        goto done;
    }
    (void)snprintf(hdr, 2100, "X-aws-ec2-metadata-token: %s", trim(resp.body));
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
    (void)snprintf(role, sizeof(role), "%s", trim(resp.body));
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

/*
 * assume_role --
 *     STS AssumeRole with base credentials; the role's credentials replace them in c.
 */
static int
assume_role(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err)
{
    wtkms_aws_creds *base;
    char form[4096], source[1400];
    int ret;

    if ((ret = wtkms_aws_creds_new(&base)) != 0)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    /* Move the base credentials aside; c receives the role's. */
    memcpy(base->access_key, c->access_key, sizeof(c->access_key));
    memcpy(base->secret, c->secret, WTKMS_AWS_SECRET_MAX);
    memcpy(base->token, c->token, WTKMS_AWS_TOKEN_MAX);
    memcpy(base->source, c->source, sizeof(c->source));
    form[0] = '\0';
    if (form_append(form, sizeof(form), "Action", "AssumeRole") != 0 ||
        form_append(form, sizeof(form), "Version", "2011-06-15") != 0 ||
        form_append(form, sizeof(form), "RoleArn", cfg->role_arn) != 0 ||
        form_append(form, sizeof(form), "RoleSessionName", session_name(cfg, NULL)) != 0 ||
        form_append(form, sizeof(form), "DurationSeconds", "3600") != 0 ||
        (cfg->external_id != NULL && cfg->external_id[0] != '\0' &&
          form_append(form, sizeof(form), "ExternalId", cfg->external_id) != 0)) {
        wtkms_aws_creds_free(base);
        return (wtkms_errf(err, EINVAL, "role_arn, role_session_name or external_id too long"));
    }
    (void)snprintf(source, sizeof(source), "role %s assumed with %s", cfg->role_arn, base->source);
    ret = sts_call(cfg, "AssumeRole", form, base, source, c, err);
    wtkms_aws_creds_free(base);
    return (ret);
}

/*
 * wtkms_aws_creds_resolve --
 *     Run the chain.
 */
int
wtkms_aws_creds_resolve(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err)
{
    const char *profile;
    char why_shared[1200], why_imds[1200];
    int ret;

    creds_clear(c);
    why_shared[0] = why_imds[0] = '\0';
    profile = cfg->profile != NULL && cfg->profile[0] != '\0' ? cfg->profile : "default";
    ret = NOT_HERE;
    if (cfg->credentials_file != NULL && cfg->credentials_file[0] != '\0')
        ret = ini_creds(cfg->credentials_file, profile, false, true, c, err);
    if (ret == NOT_HERE)
        ret = src_env(c, err);
    if (ret == NOT_HERE)
        ret = src_shared(cfg, c, why_shared, sizeof(why_shared), err);
    if (ret == NOT_HERE)
        ret = src_web_identity(cfg, c, err);
    if (ret == NOT_HERE)
        ret = src_ecs(cfg, c, err);
    if (ret == NOT_HERE)
        ret = src_imds(cfg, c, why_imds, sizeof(why_imds), err);
    if (ret == NOT_HERE)
        return (wtkms_errf(err, EACCES,
          "no AWS credentials found: no credentials_file= setting, no AWS_ACCESS_KEY_ID in the "
          "environment, %s, no AWS_WEB_IDENTITY_TOKEN_FILE, no AWS_CONTAINER_CREDENTIALS_*, %s: "
          "name a credentials file with credentials_file= (mode 600) or give this host a role",
          why_shared, why_imds));
    if (ret != 0) {
        creds_clear(c);
        return (ret);
    }
    if (cfg->role_arn != NULL && cfg->role_arn[0] != '\0' && (ret = assume_role(cfg, c, err)) != 0)
        creds_clear(c);
    return (ret);
}
