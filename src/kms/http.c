/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c -- HTTPS over libcurl with bounded retries: see http.h for the contract.
 */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "dbuf.h"
#include "secure.h"
#include "net.h"

#define HTTP_MAX_HEADERS (64 * 1024)

/*
 * wtkms_http_opts_default --
 *     The defaults documented in http.h.
 */
void
wtkms_http_opts_default(wtkms_http_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->connect_timeout_ms = 5000;
    opts->timeout_ms = 10000;
    opts->deadline_ms = 30000;
    opts->max_attempts = 4;
    opts->backoff_base_ms = 100;
    opts->backoff_cap_ms = 5000;
}

/*
 * wtkms_http_opts_from_config --
 *     Read the common HTTP settings.
 */
int
wtkms_http_opts_from_config(wtkms_config *cfg, wtkms_http_opts *opts, wtkms_err *err)
{
    unsigned long v;
    const char *s;
    int ret;

    wtkms_http_opts_default(opts);
    if ((s = wtkms_config_get(cfg, "ca_file")) != NULL &&
        snprintf(opts->ca_file, sizeof(opts->ca_file), "%s", s) >= (int)sizeof(opts->ca_file))
        return (wtkms_errf(err, ENAMETOOLONG, "%s: ca_file path too long", cfg->origin));
    if ((s = wtkms_config_get(cfg, "proxy")) != NULL) {
        /* A proxy password in the URL would be a secret in the configuration. */
        if (strchr(s, '@') != NULL)
            return (wtkms_errf(err, EINVAL,
              "%s: proxy= carries credentials (user:password@): a configuration must not hold "
              "secrets; use a proxy that needs no password, or set https_proxy in the "
              "environment instead",
              cfg->origin));
        if (snprintf(opts->proxy, sizeof(opts->proxy), "%s", s) >= (int)sizeof(opts->proxy))
            return (wtkms_errf(err, ENAMETOOLONG, "%s: proxy URL too long", cfg->origin));
    }
    if ((ret = wtkms_config_uint(cfg, "connect_timeout_ms", 5000, 10, 600000, &v, err)) != 0)
        return (ret);
    opts->connect_timeout_ms = (long)v;
    if ((ret = wtkms_config_uint(cfg, "timeout_ms", 10000, 10, 3600000, &v, err)) != 0)
        return (ret);
    opts->timeout_ms = (long)v;
    if ((ret = wtkms_config_uint(cfg, "deadline_ms", 30000, 10, 3600000, &v, err)) != 0)
        return (ret);
    opts->deadline_ms = (long)v;
    if ((ret = wtkms_config_uint(cfg, "max_retries", 3, 0, 20, &v, err)) != 0)
        return (ret);
    opts->max_attempts = (int)v + 1;
    if ((ret = wtkms_config_uint(cfg, "retry_base_ms", 100, 1, 60000, &v, err)) != 0)
        return (ret);
    opts->backoff_base_ms = (long)v;
    if ((ret = wtkms_config_uint(cfg, "retry_cap_ms", 5000, 1, 600000, &v, err)) != 0)
        return (ret);
    opts->backoff_cap_ms = (long)v;
    if (opts->connect_timeout_ms > opts->timeout_ms)
        opts->connect_timeout_ms = opts->timeout_ms;
    return (0);
}

/*
 * wtkms_http_classify_default --
 *     Retry request timeouts, throttling and server errors; everything else is final.
 */
int
wtkms_http_classify_default(const wtkms_http_resp *resp, void *arg)
{
    (void)arg;
    if (resp->status == 408 || resp->status == 429)
        return (WTKMS_HTTP_RETRY);
    if (resp->status >= 500 && resp->status != 501)
        return (WTKMS_HTTP_RETRY);
    return (WTKMS_HTTP_FINAL);
}

/*
 * wtkms_http_url_host --
 *     "host:port" of a URL for messages.
 */
void
wtkms_http_url_host(const char *url, char *out, size_t outlen)
{
    CURLU *u;
    char *host, *port;

    host = port = NULL;
    if ((u = curl_url()) != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        (void)curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
        (void)snprintf(out, outlen, "%s%s%s", host, port != NULL ? ":" : "", port ? port : "");
    } else
        (void)snprintf(out, outlen, "(an unparsable URL)");
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

/*
 * http_write_cb --
 *     libcurl body callback.
 */
static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    return (wtkms_dbuf_add(arg, data, size * nmemb) == 0 ? size * nmemb : 0);
}

/*
 * http_header_cb --
 *     libcurl header callback: keep only the last response's headers (proxies and 100-continue
 *     answer first). Headers past HTTP_MAX_HEADERS end the transfer (b->error says why).
 */
static size_t
http_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    wtkms_dbuf *b = arg;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
        b->len = 0;
    return (wtkms_dbuf_add(b, data, n) == 0 ? n : 0);
}

/*
 * http_slist_free --
 *     Wipe every header line (some carry tokens), then free the list.
 */
static void
http_slist_free(struct curl_slist *l)
{
    struct curl_slist *p;

    for (p = l; p != NULL; p = p->next)
        if (p->data != NULL)
            wtkms_wipe(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

/*
 * http_slist_add --
 *     Append "prefix value" (value may be a secret: the temporary is wiped).
 */
static int
http_slist_add(struct curl_slist **lp, const char *prefix, const char *value)
{
    struct curl_slist *n;
    size_t len;
    char *line;

    /* Header injection: a value with CR or LF would end this header and start another. */
    if (!wtkms_header_value_ok(prefix) || !wtkms_header_value_ok(value))
        return (EINVAL);
    len = strlen(prefix) + strlen(value) + 1;
    if ((line = malloc(len)) == NULL)
        return (ENOMEM);
    (void)snprintf(line, len, "%s%s", prefix, value);
    n = curl_slist_append(*lp, line);
    wtkms_wipe(line, len);
    free(line);
    if (n == NULL)
        return (ENOMEM);
    *lp = n;
    return (0);
}

/* Advice for each class of transport failure (net.h). */
static const char *const http_why[WTKMS_NET_NCLASS] = {
    [WTKMS_NET_REFUSED] = "nothing answers at that address: check the setting that names it and "
                          "that the service is reachable from this host",
    [WTKMS_NET_UNRESOLVED] =
      "the host name does not resolve: check the setting that names it, the proxy and DNS",
    [WTKMS_NET_TIMEOUT] = "the service did not answer in time: check the network and proxy, or "
                          "raise timeout_ms/deadline_ms",
    [WTKMS_NET_BROKEN] =
      "the connection broke before a full answer came: check the network and proxy",
    [WTKMS_NET_NOT_PROTOCOL] =
      "the answer was not HTTP: check that the endpoint (and proxy) speak HTTP(S)",
    [WTKMS_NET_HANDSHAKE] = "the TLS handshake failed: check that the endpoint speaks TLS and the "
                            "proxy passes it through",
    [WTKMS_NET_UNTRUSTED] = "the server's TLS certificate is not trusted for this host name: if "
                            "the endpoint uses a private CA, set ca_file= to that CA; otherwise "
                            "something is intercepting the connection (not retried)",
    [WTKMS_NET_CLIENT_CERT] = "a client certificate cannot be used (none is configured for HTTPS)",
    [WTKMS_NET_BAD_URL] =
      "the URL is not a valid http:// or https:// URL: check the setting that names it",
    [WTKMS_NET_NOMEM] = "out of memory",
    [WTKMS_NET_OTHER] = "unexpected transport failure",
};

/*
 * http_classify_curl --
 *     Map a libcurl error to an errno, a retry decision and advice; an answer past its limit
 *     ends the transfer with a write error.
 */
static wtkms_net_failure
http_classify_curl(CURLcode cc, bool overflow, bool header_overflow)
{
    wtkms_net_failure f = { EMSGSIZE, false, NULL };

    if (cc == CURLE_WRITE_ERROR && header_overflow)
        f.why = "the answer's headers are larger than 64 KiB, more than any service this request "
                "expects sends: check the endpoint";
    else if (cc == CURLE_WRITE_ERROR && overflow)
        f.why = "the answer is larger than any answer this request expects: check the endpoint";
    else
        f = wtkms_net_classify(cc, http_why);
    return (f);
}

/*
 * http_setup --
 *     Options that stay the same across attempts.
 */
static int
http_setup(CURL *h, const wtkms_http_opts *opts, const wtkms_http_req *req,
  struct curl_slist *headers, wtkms_dbuf *body, wtkms_dbuf *hdrs)
{
    CURLcode cc;

#define SET(opt, val)                                         \
    do {                                                      \
        if ((cc = curl_easy_setopt(h, opt, val)) != CURLE_OK) \
            return ((int)cc);                                 \
    } while (0)

    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (opts->ca_file[0] != '\0')
        SET(CURLOPT_CAINFO, opts->ca_file);
    if (req->no_proxy)
        SET(CURLOPT_PROXY, "");
    else if (opts->proxy[0] != '\0')
        SET(CURLOPT_PROXY, opts->proxy);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_WRITEFUNCTION, http_write_cb);
    SET(CURLOPT_WRITEDATA, body);
    SET(CURLOPT_HEADERFUNCTION, http_header_cb);
    SET(CURLOPT_HEADERDATA, hdrs);
    SET(CURLOPT_USERAGENT, "wtkms/1");
    SET(CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);

    if (strcmp(req->method, "GET") == 0)
        SET(CURLOPT_HTTPGET, 1L);
    else if (strcmp(req->method, "HEAD") == 0)
        SET(CURLOPT_NOBODY, 1L);
    else {
        if (strcmp(req->method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, req->method);
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_POSTFIELDS, req->body != NULL ? (const char *)req->body : "");
    }
    if (req->sigv4 != NULL) {
        SET(CURLOPT_AWS_SIGV4, req->sigv4);
        SET(CURLOPT_USERNAME, req->access_key);
        SET(CURLOPT_PASSWORD, req->secret_key);
    }
#undef SET
    return (0);
}

/*
 * wtkms_http_request --
 *     Send a request with retries; see http.h.
 */
int
wtkms_http_request(
  const wtkms_http_opts *opts, const wtkms_http_req *req, wtkms_http_resp *resp, wtkms_err *err)
{
    struct curl_slist *headers;
    wtkms_net_failure fail;
    wtkms_dbuf body, hdrs;
    wtkms_http_classify_fn classify;
    CURL *h;
    CURLcode cc;
    int64_t start, remaining, elapsed;
    long t, sleep_ms;
    int attempt, i, ret, last_was_answer;
    char host[300], errbuf[CURL_ERROR_SIZE];

    memset(resp, 0, sizeof(*resp));
    memset(&body, 0, sizeof(body));
    memset(&hdrs, 0, sizeof(hdrs));
    headers = NULL;
    h = NULL;
    ret = 0;
    wtkms_http_url_host(req->url != NULL ? req->url : "", host, sizeof(host));

    if (req->url == NULL || req->method == NULL ||
        (req->sigv4 != NULL && (req->access_key == NULL || req->secret_key == NULL)))
        return (wtkms_errf(err, EINVAL, "%s: incomplete HTTP request (internal error)",
          req->what != NULL ? req->what : "HTTP request"));
    if (strncmp(req->url, "https://", 8) != 0 && strncmp(req->url, "http://", 7) != 0)
        return (wtkms_errf(err, EINVAL,
          "%s: the URL must start with https:// (or http:// to this machine or an instance "
          "metadata service): check the endpoint setting",
          req->what != NULL ? req->what : "HTTP request"));
    if (!req->metadata && !wtkms_http_url_safe(req->url))
        return (wtkms_errf(err, EINVAL,
          "%s to %s: refusing http:// to a host that is not this machine (only 127.0.0.1, [::1] "
          "and localhost may be reached without TLS): use https://",
          req->what != NULL ? req->what : "HTTP request", host));
    if ((cc = wtkms_net_init()) != CURLE_OK)
        return (wtkms_errf(
          err, EIO, "%s: libcurl cannot initialise: %s", req->what, curl_easy_strerror(cc)));

    body.max = req->max_body != 0 ? req->max_body : WTKMS_HTTP_MAX_BODY_DEFAULT;
    hdrs.max = HTTP_MAX_HEADERS;
    classify = req->classify != NULL ? req->classify : wtkms_http_classify_default;

    /* No "Expect: 100-continue" round trip; then the caller's headers; then the secret ones. */
    /*
     * curl 7.88's SigV4 signs a disabling "Expect:" line it then does not send (the signature
     * breaks), so signed requests keep curl's Expect handling, with no wait (see http_setup).
     */
    if (req->sigv4 == NULL && (ret = http_slist_add(&headers, "Expect:", "")) != 0)
        goto oom;
    for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        if ((ret = http_slist_add(&headers, req->headers[i], "")) != 0)
            goto oom;
    if (req->session_token != NULL &&
        (ret = http_slist_add(&headers, "X-Amz-Security-Token: ", req->session_token)) != 0)
        goto oom;
    if (req->bearer != NULL &&
        (ret = http_slist_add(&headers, "Authorization: Bearer ", req->bearer)) != 0)
        goto oom;
    if (req->secret_header != NULL && (ret = http_slist_add(&headers, req->secret_header, "")) != 0)
        goto oom;

    if ((h = curl_easy_init()) == NULL)
        goto oom;
    if ((cc = (CURLcode)http_setup(h, opts, req, headers, &body, &hdrs)) != CURLE_OK) {
        fail = http_classify_curl(cc, false, false);
        ret = wtkms_errf(err, fail.code == EIO ? EINVAL : fail.code,
          "%s to %s: cannot set up the request: %s", req->what, host, curl_easy_strerror(cc));
        goto done;
    }
    (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    wtkms_tls_watch(h);

    start = wtkms_mono_ms();
    fail.code = 0;
    fail.retry = false;
    fail.why = "";
    cc = CURLE_OK;
    last_was_answer = 0;
    for (attempt = 1;; attempt++) {
        elapsed = wtkms_mono_ms() - start;
        remaining = opts->deadline_ms - elapsed;
        if (remaining <= 0) {
            /* Out of time before this attempt: report what the last attempt saw. */
            attempt--;
            if (!last_was_answer && fail.code == 0) {
                fail.code = ETIMEDOUT;
                fail.why = "the deadline passed: raise deadline_ms";
            }
            break;
        }
        t = opts->timeout_ms < remaining ? opts->timeout_ms : (long)remaining;
        (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t);
        (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
          opts->connect_timeout_ms < t ? opts->connect_timeout_ms : t);
        wtkms_dbuf_free(&body);
        hdrs.len = 0;
        hdrs.error = 0;
        body.max = req->max_body != 0 ? req->max_body : WTKMS_HTTP_MAX_BODY_DEFAULT;
        errbuf[0] = '\0';
        resp->attempts = attempt;

        cc = curl_easy_perform(h);
        if (cc == CURLE_OK) {
            last_was_answer = 1;
            fail.code = 0;
            (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
            if (body.s == NULL && wtkms_dbuf_add(&body, "", 0) != 0)
                goto oom;
            resp->body = body.s;
            resp->body_len = body.len;
            if (classify(resp, req->classify_arg) != WTKMS_HTTP_RETRY)
                break;
            resp->body = NULL;
        } else {
            last_was_answer = 0;
            /*
             * A certificate that fails verification can come back as a generic handshake error,
             * which would be retried: the recorded verification failure tells it apart.
             */
            if (cc == CURLE_SSL_CONNECT_ERROR && wtkms_tls_verify_error() != 0) {
                cc = CURLE_PEER_FAILED_VERIFICATION;
                (void)snprintf(errbuf, CURL_ERROR_SIZE,
                  "the server's certificate failed verification (%s)",
                  wtkms_tls_verify_string(wtkms_tls_verify_error()));
            }
            fail = http_classify_curl(cc, body.error == EMSGSIZE, hdrs.error == EMSGSIZE);
            if (!fail.retry)
                break;
        }
        if (attempt >= opts->max_attempts)
            break;
        sleep_ms = wtkms_net_backoff_ms(opts, attempt - 1);
        if (sleep_ms >= opts->deadline_ms - (wtkms_mono_ms() - start))
            break;
        wtkms_net_sleep_ms(sleep_ms);
    }

    if (last_was_answer) {
        /* The final answer, even a retryable one that ran out of attempts: the caller words it. */
        resp->body = body.s;
        resp->body_len = body.len;
        body.s = NULL;
        body.cap = 0;
        if (hdrs.s != NULL && (resp->headers = strdup(hdrs.s)) == NULL)
            goto oom;
        if (resp->headers == NULL && (resp->headers = strdup("")) == NULL)
            goto oom;
        ret = 0;
        goto done;
    }
    elapsed = wtkms_mono_ms() - start;
    ret = wtkms_errf(err, fail.code, "%s to %s failed after %d attempt%s in %.1f s: %s%s%s%s%s%s%s",
      req->what, host, resp->attempts, resp->attempts == 1 ? "" : "s", (double)elapsed / 1000.0,
      cc != CURLE_OK ? (errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc)) : "",
      cc != CURLE_OK ? " (" : "", fail.why, cc != CURLE_OK ? ")" : "",
      req->setting != NULL ? " [address from " : "", req->setting != NULL ? req->setting : "",
      req->setting != NULL ? "]" : "");
    memset(resp, 0, sizeof(*resp));
    goto done;

oom:
    ret = ret == EINVAL ? wtkms_errf(err, EPROTO,
                            "%s to %s: a request header value carries control characters (CR, "
                            "LF, ...): refusing to send it",
                            req->what, host)
                        : wtkms_errf(err, ENOMEM, "%s to %s: out of memory", req->what, host);
    wtkms_http_resp_free(resp);
done:
    if (h != NULL)
        curl_easy_cleanup(h);
    http_slist_free(headers);
    wtkms_dbuf_free(&body);
    wtkms_dbuf_free(&hdrs);
    return (ret);
}

/*
 * wtkms_http_resp_free --
 *     Wipe and free an answer.
 */
void
wtkms_http_resp_free(wtkms_http_resp *resp)
{
    if (resp->body != NULL) {
        wtkms_wipe(resp->body, resp->body_len);
        free(resp->body);
    }
    if (resp->headers != NULL) {
        wtkms_wipe(resp->headers, strlen(resp->headers));
        free(resp->headers);
    }
    memset(resp, 0, sizeof(*resp));
}

/*
 * wtkms_http_resp_header --
 *     One response header's value.
 */
int
wtkms_http_resp_header(const wtkms_http_resp *resp, const char *name, char *out, size_t outlen)
{
    const char *p, *eol, *v, *found, *found_end;
    size_t nlen;

    found = found_end = NULL;
    nlen = strlen(name);
    for (p = resp->headers; p != NULL && *p != '\0'; p = eol) {
        if ((eol = strchr(p, '\n')) == NULL)
            eol = p + strlen(p);
        else
            eol++;
        if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            for (v = p + nlen + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
                ;
            found = v;
            for (found_end = eol; found_end > v && (found_end[-1] == '\n' ||
                                                     found_end[-1] == '\r' || found_end[-1] == ' ');
                 found_end--)
                ;
        }
    }
    if (found == NULL)
        return (ENOENT);
    (void)snprintf(out, outlen, "%.*s", (int)(found_end - found), found);
    return (0);
}
