/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_creds_ini.c -- the AWS credential chain's shared files: static keys from a profile of the
 * credentials file (credentials_file=, AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials) or the
 * config file (AWS_CONFIG_FILE, ~/.aws/config). The chain: aws_creds.c.
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

#define FILE_MAX (1024 * 1024)

/*
 * wtkms_aws_ini_creds --
 *     Static keys of one profile in an AWS shared credentials or config file. config_style: the
 *     config file names sections "profile NAME" (and "default").
 */
int
wtkms_aws_ini_creds(const char *path, const char *profile, bool config_style, bool must_exist,
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
                return (WTKMS_AWS_NOT_HERE);
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
        line = wtkms_aws_trim(line);
        if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
            continue;
        if (line[0] == '[') {
            if ((e = strchr(line, ']')) == NULL) {
                in_section = false;
                continue;
            }
            *e = '\0';
            name = wtkms_aws_trim(line + 1);
            if (config_style && strncmp(name, "profile ", 8) == 0)
                name = wtkms_aws_trim(name + 8);
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
        k = wtkms_aws_trim(line);
        v = wtkms_aws_trim(e + 1);
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
                : WTKMS_AWS_NOT_HERE;
    else if (ak == NULL || sk == NULL)
        ret = wtkms_errf(err, EACCES, "%s has %s but no %s", source,
          ak == NULL ? "aws_secret_access_key" : "aws_access_key_id",
          ak == NULL ? "aws_access_key_id" : "aws_secret_access_key");
    else
        ret = wtkms_aws_creds_set(
          c, ak, strlen(ak), sk, strlen(sk), tok, tok ? strlen(tok) : 0, 0, source, err);
    wtkms_wipe(buf, len);
    free(buf);
    return (ret);
}

/*
 * wtkms_aws_src_shared --
 *     The shared credentials file, then the shared config file.
 */
int
wtkms_aws_src_shared(
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

    if ((ret = wtkms_aws_ini_creds(path, profile, false, false, c, err)) != WTKMS_AWS_NOT_HERE)
        return (ret);
    if ((ret2 = wtkms_aws_ini_creds(cpath, profile, true, false, c, err)) != WTKMS_AWS_NOT_HERE)
        return (ret2);
    if (explicit_profile)
        return (wtkms_errf(err, EACCES,
          "AWS profile %s (from %s) has no static keys in %s or %s: add them, or unset the "
          "profile (role, SSO and credential_process profiles are not supported: use role_arn=)",
          profile, cfg->profile != NULL && cfg->profile[0] ? "profile=" : "AWS_PROFILE", path,
          cpath));
    if (snprintf(why, whylen, "no profile %s in %s or %s", profile, path, cpath) >= (int)whylen)
        why[whylen - 1] = '\0';
    return (WTKMS_AWS_NOT_HERE);
}
