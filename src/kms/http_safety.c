/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_safety.c -- the checks every request and endpoint setting goes through before anything is
 * sent or shown: http:// only to this machine, no control characters in a header value, and a
 * short, safe quote of an answer that could not be parsed. See http.h.
 */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "secure.h"

/*
 * wtkms_http_url_safe --
 *     https:// anywhere; http:// to a loopback host only.
 */
bool
wtkms_http_url_safe(const char *url)
{
    struct in6_addr a6;
    struct in_addr a4;
    CURLU *u;
    char *scheme, *host, h[64];
    size_t n;
    bool ok;

    ok = false;
    scheme = host = NULL;
    if ((u = curl_url()) == NULL)
        return (false);
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto done;
    if (strcasecmp(scheme, "https") == 0) {
        ok = true;
        goto done;
    }
    if (strcasecmp(scheme, "http") != 0)
        goto done;
    if (strcasecmp(host, "localhost") == 0) {
        ok = true;
        goto done;
    }
    /* An address literal, never a name that merely starts like one (127.0.0.1.example.com). */
    if (inet_pton(AF_INET, host, &a4) == 1) {
        ok = (ntohl(a4.s_addr) >> 24) == 127;
        goto done;
    }
    n = strlen(host);
    if (n > 2 && n < sizeof(h) && host[0] == '[' && host[n - 1] == ']') {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        ok = inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
done:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return (ok);
}

/*
 * wtkms_http_check_endpoint --
 *     A configured endpoint must be https://, or http:// to this machine.
 */
int
wtkms_http_check_endpoint(const char *origin, const char *what, const char *url, wtkms_err *err)
{
    if (wtkms_http_url_safe(url))
        return (0);
    return (wtkms_errf(err, EINVAL,
      "%s%s%s=%s must start with https:// (http:// is allowed only to this machine: 127.0.0.1, "
      "[::1] or localhost, for a local emulator): keys and credentials must not cross the "
      "network in clear",
      origin != NULL ? origin : "", origin != NULL ? ": " : "", what, url));
}

/*
 * wtkms_header_value_ok --
 *     No control characters but tab.
 */
bool
wtkms_header_value_ok(const char *v)
{
    const unsigned char *p;

    for (p = (const unsigned char *)v; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return (false);
    return (true);
}

/*
 * wtkms_http_body_excerpt --
 *     A short, safe quote of an unparsable answer.
 */
void
wtkms_http_body_excerpt(const wtkms_http_resp *resp, char *out, size_t outlen)
{
    char text[64];
    size_t i, n;

    if (resp->body == NULL || resp->body_len == 0) {
        (void)snprintf(out, outlen, "an empty body");
        return;
    }
    for (i = 0; i < resp->body_len && (resp->body[i] == ' ' || resp->body[i] == '\t' ||
                                        resp->body[i] == '\r' || resp->body[i] == '\n');
         i++)
        ;
    if (i < resp->body_len && (resp->body[i] == '{' || resp->body[i] == '[')) {
        (void)snprintf(
          out, outlen, "%zu bytes of JSON that is cut short or malformed", resp->body_len);
        return;
    }
    n = resp->body_len < 60 ? resp->body_len : 60;
    for (i = 0; i < n; i++)
        text[i] = resp->body[i] >= 0x20 && resp->body[i] < 0x7f && resp->body[i] != '"'
                    ? resp->body[i]
                    : '?';
    text[n] = '\0';
    (void)snprintf(
      out, outlen, "the answer begins \"%s\"%s", text, resp->body_len > n ? "..." : "");
}

/*
 * wtkms_http_form_add --
 *     Append one form field, percent-encoded (unreserved characters stay as they are).
 */
int
wtkms_http_form_add(wtkms_dbuf *b, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p;
    char enc[3];

    /* "&" between fields, never right after the "?" or "&" a URL already ends with. */
    if (b->len > 0 && b->s[b->len - 1] != '?' && b->s[b->len - 1] != '&')
        (void)wtkms_dbuf_add(b, "&", 1);
    (void)wtkms_dbuf_str(b, key);
    (void)wtkms_dbuf_add(b, "=", 1);
    for (p = (const unsigned char *)value; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            (void)wtkms_dbuf_add(b, p, 1);
        else {
            enc[0] = '%';
            enc[1] = hex[*p >> 4];
            enc[2] = hex[*p & 15];
            (void)wtkms_dbuf_add(b, enc, 3);
        }
    }
    wtkms_wipe(enc, sizeof(enc));
    return (b->error);
}
