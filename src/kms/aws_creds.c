/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_creds.c -- the AWS credential chain: see aws_creds.h for the order. This file holds the
 * credentials themselves, the environment source and the chain; the other sources are in
 * aws_creds_ini.c (shared files), aws_creds_sts.c (web identity and AssumeRole) and
 * aws_creds_meta.c (ECS and EC2 instance metadata).
 *
 * Every source either is not configured here (WTKMS_AWS_NOT_HERE: try the next one, remembering
 * why for the final message), yields credentials (0), or is configured but broken (an error
 * naming the source: a DBA who set AWS_PROFILE=prod wants to hear that prod is missing, not that
 * the instance role was used instead).
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

#include "aws_creds_src.h"
#include "fileio.h"
#include "secure.h"

#define WEB_TOKEN_MAX (64 * 1024)

/*
 * wtkms_aws_cred_settings_read --
 *     The chain's settings from a configuration, each name with prefix.
 */
int
wtkms_aws_cred_settings_read(wtkms_config *cfg, const char *prefix, bool with_session_name,
  wtkms_aws_cred_settings *s, wtkms_err *err)
{
    struct {
        const char *name;
        char *out;
        size_t len;
    } settings[] = {
        { "credentials_file", s->credentials_file, sizeof(s->credentials_file) },
        { "profile", s->profile, sizeof(s->profile) },
        { "role_arn", s->role_arn, sizeof(s->role_arn) },
        { "external_id", s->external_id, sizeof(s->external_id) },
        { "role_session_name", s->role_session_name, sizeof(s->role_session_name) },
        { "sts_endpoint", s->sts_endpoint, sizeof(s->sts_endpoint) },
    };
    char key[64];
    size_t i;
    int ret;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (!with_session_name && settings[i].out == s->role_session_name)
            continue;
        (void)snprintf(key, sizeof(key), "%s%s", prefix, settings[i].name);
        if ((ret = wtkms_config_copy(cfg, key, settings[i].out, settings[i].len, err)) != 0)
            return (ret);
    }
    if (s->sts_endpoint[0] != '\0') {
        (void)snprintf(key, sizeof(key), "%ssts_endpoint", prefix);
        if ((ret = wtkms_http_check_endpoint(
               cfg != NULL ? cfg->origin : NULL, key, s->sts_endpoint, err)) != 0)
            return (ret);
    }
    return (0);
}

/*
 * wtkms_aws_cred_cfg_init --
 *     The chain's configuration from its settings.
 */
void
wtkms_aws_cred_cfg_init(wtkms_aws_cred_cfg *cc, const wtkms_aws_cred_settings *s,
  const char *region, const wtkms_http_opts *http)
{
    memset(cc, 0, sizeof(*cc));
    cc->region = region;
    cc->credentials_file = s->credentials_file;
    cc->profile = s->profile;
    cc->role_arn = s->role_arn;
    cc->external_id = s->external_id;
    cc->role_session_name = s->role_session_name;
    cc->sts_endpoint = s->sts_endpoint;
    cc->http = http;
}

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
 * wtkms_aws_creds_clear --
 *     Forget whatever credentials are held.
 */
void
wtkms_aws_creds_clear(wtkms_aws_creds *c)
{
    c->access_key[0] = '\0';
    wtkms_wipe(c->secret, WTKMS_AWS_SECRET_MAX);
    wtkms_wipe(c->token, WTKMS_AWS_TOKEN_MAX);
    c->expires_ms = 0;
    c->source[0] = '\0';
}

/*
 * wtkms_aws_creds_set --
 *     Fill credentials, checking their shape (lengths only: AWS is the judge of the rest).
 */
int
wtkms_aws_creds_set(wtkms_aws_creds *c, const char *ak, size_t ak_len, const char *sk,
  size_t sk_len, const char *tok, size_t tok_len, int64_t expires_ms, const char *source,
  wtkms_err *err)
{
    wtkms_aws_creds_clear(c);
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
 * wtkms_aws_trim --
 *     Strip blanks at both ends in place.
 */
char *
wtkms_aws_trim(char *s)
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
 * wtkms_aws_read_secret_file --
 *     Read a small file holding one secret (a token), trimmed. *bufp is wiped by the caller.
 */
int
wtkms_aws_read_secret_file(
  const char *path, const char *what, char **bufp, char **valp, size_t *lenp, wtkms_err *err)
{
    size_t len;

    if (wtkms_read_file(path, WEB_TOKEN_MAX, bufp, &len, err) != 0)
        return (wtkms_err_prefix(err, "%s", what));
    *valp = wtkms_aws_trim(*bufp);
    *lenp = strlen(*valp);
    if (*lenp == 0)
        return (wtkms_errf(err, EACCES, "%s %s is empty", what, path));
    return (0);
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
        return (WTKMS_AWS_NOT_HERE);
    if (ak == NULL || ak[0] == '\0' || sk == NULL || sk[0] == '\0')
        return (wtkms_errf(err, EACCES, "the environment sets %s but not %s: set both, or neither",
          ak != NULL && ak[0] ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
          ak != NULL && ak[0] ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
    return (wtkms_aws_creds_set(c, ak, strlen(ak), sk, strlen(sk), tok, tok ? strlen(tok) : 0, 0,
      "the environment (AWS_ACCESS_KEY_ID)", err));
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

    wtkms_aws_creds_clear(c);
    why_shared[0] = why_imds[0] = '\0';
    profile = cfg->profile != NULL && cfg->profile[0] != '\0' ? cfg->profile : "default";
    ret = WTKMS_AWS_NOT_HERE;
    if (cfg->credentials_file != NULL && cfg->credentials_file[0] != '\0')
        ret = wtkms_aws_ini_creds(cfg->credentials_file, profile, false, true, c, err);
    if (ret == WTKMS_AWS_NOT_HERE)
        ret = src_env(c, err);
    if (ret == WTKMS_AWS_NOT_HERE)
        ret = wtkms_aws_src_shared(cfg, c, why_shared, sizeof(why_shared), err);
    if (ret == WTKMS_AWS_NOT_HERE)
        ret = wtkms_aws_src_web_identity(cfg, c, err);
    if (ret == WTKMS_AWS_NOT_HERE)
        ret = wtkms_aws_src_ecs(cfg, c, err);
    if (ret == WTKMS_AWS_NOT_HERE)
        ret = wtkms_aws_src_imds(cfg, c, why_imds, sizeof(why_imds), err);
    if (ret == WTKMS_AWS_NOT_HERE)
        return (wtkms_errf(err, EACCES,
          "no AWS credentials found: no credentials_file= setting, no AWS_ACCESS_KEY_ID in the "
          "environment, %s, no AWS_WEB_IDENTITY_TOKEN_FILE, no AWS_CONTAINER_CREDENTIALS_*, %s: "
          "name a credentials file with credentials_file= (mode 600) or give this host a role",
          why_shared, why_imds));
    if (ret != 0) {
        wtkms_aws_creds_clear(c);
        return (ret);
    }
    if (cfg->role_arn != NULL && cfg->role_arn[0] != '\0' &&
        (ret = wtkms_aws_assume_role(cfg, c, err)) != 0)
        wtkms_aws_creds_clear(c);
    return (ret);
}
