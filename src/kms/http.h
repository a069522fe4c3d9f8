/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h -- the one HTTPS transport every provider uses (AWS, Azure, GCP, S3 snapshots), over
 * libcurl.
 *
 * What it guarantees, so providers need not:
 *   - certificate verification is always on (there is no "insecure" switch); ca_file= names a CA
 *     bundle for private CAs and emulators. Only http and https are spoken; redirects are never
 *     followed (a signed or bearer-carrying request must not be replayed to another host).
 *     http:// is allowed because emulators and instance-metadata endpoints use it.
 *   - bounded time: a connect timeout, a timeout per attempt, and a deadline for the whole call
 *     (retries and backoff included); nothing waits longer than deadline_ms.
 *   - retries with capped exponential backoff and full jitter (sleep a random time in
 *     [0, min(cap, base * 2^n)]), only for what can succeed on a second try: connection errors,
 *     timeouts, and the responses the classifier calls retryable (by default 408, 429 and 5xx
 *     except 501). Never a certificate error, never an answer the classifier calls final (auth,
 *     key state).
 *   - secrets handed in through the request (SigV4 secret key, session token, bearer token) are
 *     sent only as the protocol needs, wiped from our buffers afterwards, and never appear in an
 *     error message. Messages name the operation, the host and the cause. (libcurl keeps its own
 *     copy of CURLOPT_USERPWD until the handle is freed at the end of the call; it does not wipe
 *     it: docs/SECURITY.md.)
 *
 * Result convention: wtkms_http_request returns 0 when a server answered with any HTTP status
 * (the final answer after retries) and the caller interprets resp->status and resp->body in its
 * own words; it returns an error (and fills err) only when no usable answer came: connection
 * refused/reset, timeout, TLS failure, a body over the size limit, bad arguments.
 *     ETIMEDOUT     connect or transfer timed out on every attempt, or the deadline passed
 *     ECONNREFUSED  nothing listens there
 *     EHOSTUNREACH  the host name does not resolve or the host cannot be reached
 *     ECONNRESET    the connection broke mid-request (reset, empty reply), or the TLS handshake
 *                   failed (retried)
 *     ECONNABORTED  the server's certificate failed verification: untrusted or mismatched (not
 *                   retried)
 *     EPROTO        the answer was not HTTP
 *     EMSGSIZE      the answer is larger than max_body
 *     EINVAL        a bad URL or option
 *
 * Settings read by wtkms_http_opts_from_config (shared by every provider's configuration):
 *     ca_file=PATH             CA bundle to verify servers with (default: the system's)
 *     proxy=URL                HTTP(S) proxy (default: libcurl's https_proxy/no_proxy env)
 *     connect_timeout_ms=N     default 5000
 *     timeout_ms=N             one attempt, connect included; default 10000
 *     deadline_ms=N            the whole call, all attempts and backoff; default 30000
 *     max_retries=N            retries after the first attempt; default 3 (so 4 attempts)
 *     retry_base_ms=N          backoff base; default 100
 *     retry_cap_ms=N           backoff cap; default 5000
 */
#ifndef WTKMS_HTTP_H
#define WTKMS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dbuf.h"
#include "err.h"

#define WTKMS_HTTP_MAX_BODY_DEFAULT (1024 * 1024) /* answers larger than this are refused */

typedef struct {
    char ca_file[1024]; /* "" = the system's CA store */
    char proxy[1024];   /* "" = libcurl's default (environment variables) */
    long connect_timeout_ms;
    long timeout_ms;  /* per attempt */
    long deadline_ms; /* per call, all attempts */
    int max_attempts; /* >= 1 */
    long backoff_base_ms, backoff_cap_ms;
} wtkms_http_opts;

/* Defaults: no CA file, no proxy, 5 s connect, 10 s attempt, 30 s deadline, 4 attempts, 100 ms
 * base, 5 s cap. */
void wtkms_http_opts_default(wtkms_http_opts *opts);

/* Defaults overridden by the settings listed above (marking them used); errors name the setting. */
int wtkms_http_opts_from_config(wtkms_config *cfg, wtkms_http_opts *opts, wtkms_err *err);

typedef struct {
    long status; /* HTTP status of the final answer */
    char *body;  /* NUL-terminated (not counted in body_len); never NULL after success */
    size_t body_len;
    char *headers; /* the final answer's header lines, "Name: value\r\n" each */
    int attempts;  /* how many requests were sent, retries included */
} wtkms_http_resp;

/* What a classifier answers for one response. */
#define WTKMS_HTTP_FINAL 0 /* hand this answer to the caller */
#define WTKMS_HTTP_RETRY 1 /* transient: try again if attempts and deadline allow */

/* Decide whether an answer is worth retrying (arg is the request's classify_arg). */
typedef int (*wtkms_http_classify_fn)(const wtkms_http_resp *resp, void *arg);

/* The default: 408, 429, 500, 502, 503, 504 and other 5xx except 501 retry; all else final. */
int wtkms_http_classify_default(const wtkms_http_resp *resp, void *arg);

typedef struct {
    const char *what;   /* for messages: "AWS KMS Decrypt", "Azure token request", ... */
    const char *method; /* "GET", "POST", "PUT", "DELETE", "HEAD" */
    const char *url;    /* http:// or https:// */
    /*
     * Extra request headers, "Name: value" each, NULL-terminated (or NULL). They are set before
     * signing, so SigV4 signs them (S3 callers add "x-amz-content-sha256: <hex>" here: curl 7.88
     * does not). Never put a secret here: use the fields below, which are wiped.
     */
    const char *const *headers;
    const void *body; /* may be NULL when body_len is 0 */
    size_t body_len;

    /*
     * AWS Signature Version 4 by libcurl: sigv4 = "aws:amz:REGION:SERVICE" (e.g.
     * "aws:amz:us-east-1:kms"), with access_key and secret_key; session_token, when set, is sent
     * as X-Amz-Security-Token and signed. Do not add X-Amz-Date: curl does.
     */
    const char *sigv4;
    const char *access_key, *secret_key, *session_token;

    const char *bearer; /* when set: "Authorization: Bearer <bearer>" (Azure, GCP) */
    /* One more header that carries a secret, "Name: value" (an ECS or IMDS token); wiped. */
    const char *secret_header;

    bool no_proxy; /* bypass any proxy (instance-metadata endpoints are link-local) */
    bool metadata; /* an instance-metadata endpoint: http:// allowed to any host */
    /* Where the URL came from, for messages ("endpoint=", "AWS_EC2_METADATA_SERVICE_ENDPOINT"). */
    const char *setting;
    size_t max_body; /* 0 = WTKMS_HTTP_MAX_BODY_DEFAULT */

    wtkms_http_classify_fn classify; /* NULL = wtkms_http_classify_default */
    void *classify_arg;
} wtkms_http_req;

/*
 * Send req, retrying as opts allow. On 0, *resp holds the final answer (free it with
 * wtkms_http_resp_free); otherwise *resp is empty and err says what failed, with the host.
 */
int wtkms_http_request(
  const wtkms_http_opts *opts, const wtkms_http_req *req, wtkms_http_resp *resp, wtkms_err *err);

/* Free (and wipe: bodies may carry keys and tokens) an answer; safe on a zeroed one. */
void wtkms_http_resp_free(wtkms_http_resp *resp);

/*
 * Copy the value of a response header (case-insensitive name, last occurrence) into out.
 * Returns 0, or ENOENT when absent.
 */
int wtkms_http_resp_header(const wtkms_http_resp *resp, const char *name, char *out, size_t outlen);

/*
 * Whether a URL may carry secrets: https:// to any host, http:// only to a loopback host
 * (127.0.0.0/8, [::1], localhost). The one rule every endpoint setting follows.
 */
bool wtkms_http_url_safe(const char *url);

/*
 * Check a configured endpoint URL with wtkms_http_url_safe: 0, or EINVAL naming the setting
 * (what: "endpoint", "s3_endpoint", ...; origin: the configuration's name, or NULL).
 */
int wtkms_http_check_endpoint(
  const char *origin, const char *what, const char *url, wtkms_err *err);

/*
 * Whether a value may go into a request header: no control characters (CR, LF, NUL, ... and
 * DEL; a tab is allowed). Every header line is checked before sending; callers check values from
 * services first, to say where the bad value came from.
 */
bool wtkms_header_value_ok(const char *v);

/*
 * Words for an answer that could not be parsed, for a message: 'the answer begins "..."' with at
 * most 60 bytes made printable, or "an empty body". A body that starts like JSON is never quoted
 * (cut short, it could be a key or token answer): its length is given instead.
 */
void wtkms_http_body_excerpt(const wtkms_http_resp *resp, char *out, size_t outlen);

/*
 * Append "key=value" to a form body or a URL's query, value percent-encoded as
 * application/x-www-form-urlencoded, with "&" before it unless b is empty or ends with "?" or
 * "&". Returns b's (sticky) error: 0, ENOMEM, or EMSGSIZE past b->max.
 */
int wtkms_http_form_add(wtkms_dbuf *b, const char *key, const char *value);

/* "host:port" of a URL, for messages (never the path or query, which may carry identifiers). */
void wtkms_http_url_host(const char *url, char *out, size_t outlen);

#endif
