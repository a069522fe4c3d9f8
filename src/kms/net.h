/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.h -- libcurl plumbing shared by the two transports (http.c for HTTPS, kmip_tls.c for
 * KMIP's raw TLS): process-wide init, the sleep the retry loops use, the backoff, what
 * a libcurl error means (errno and retry), and why a server certificate was rejected.
 *
 * libcurl reports some certificate failures as a generic handshake error (a CA with the right
 * name but another key shows up as OpenSSL's "invalid padding"), which looks transient. A
 * verification callback hooked into libcurl's OpenSSL context records the real reason, so the
 * caller can report it and never retry it.
 */
#ifndef WTKMS_NET_H
#define WTKMS_NET_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "http.h"

/* libcurl's process-wide setup, once (never cleaned up: the extension stays loaded). */
CURLcode wtkms_net_init(void);

/* Sleep ms milliseconds, resuming after signals. */
void wtkms_net_sleep_ms(long ms);

/* Full jitter: a random time in [0, min(cap, base * 2^retry)] (retry counts from 0). */
long wtkms_net_backoff_ms(const wtkms_http_opts *opts, int retry);

/*
 * The classes of transport failure. Each has one errno and one retry decision for both
 * transports; each transport gives its own advice for each (wtkms_net_classify's why).
 */
typedef enum {
    WTKMS_NET_REFUSED,      /* ECONNREFUSED, retried: nothing listens there */
    WTKMS_NET_UNRESOLVED,   /* EHOSTUNREACH, retried: the host name does not resolve */
    WTKMS_NET_TIMEOUT,      /* ETIMEDOUT, retried */
    WTKMS_NET_BROKEN,       /* ECONNRESET, retried: the connection broke mid-answer */
    WTKMS_NET_NOT_PROTOCOL, /* EPROTO, retried: the answer is not the protocol spoken */
    WTKMS_NET_HANDSHAKE,    /* ECONNRESET, retried: the TLS handshake failed */
    WTKMS_NET_UNTRUSTED,    /* ECONNABORTED, never retried: the server's certificate */
    WTKMS_NET_CLIENT_CERT,  /* EACCES: the client certificate or key cannot be used */
    WTKMS_NET_BAD_URL,      /* EINVAL */
    WTKMS_NET_NOMEM,        /* ENOMEM */
    WTKMS_NET_OTHER,        /* EIO */
    WTKMS_NET_NCLASS
} wtkms_net_class;

/* How a transport failure is treated. */
typedef struct {
    int code;        /* errno-style */
    bool retry;      /* transient */
    const char *why; /* words for the DBA */
} wtkms_net_failure;

/* A libcurl error as errno, retry decision and the transport's advice for its class. */
wtkms_net_failure wtkms_net_classify(CURLcode cc, const char *const why[WTKMS_NET_NCLASS]);

/* Hook the recorder into a handle (CURLOPT_SSL_CTX_FUNCTION) and clear this thread's record. */
void wtkms_tls_watch(CURL *h);

/* This thread's certificate error since wtkms_tls_watch (an X509_V_ERR_*), or 0. */
long wtkms_tls_verify_error(void);

/*
 * Whether the server ended this thread's last handshake with an alert refusing the client
 * certificate (bad, unknown CA, revoked, expired, required, access denied); *whyp is OpenSSL's
 * name for the alert. Such a refusal does not change on retry.
 */
bool wtkms_tls_peer_refused_cert(const char **whyp);

/* Words for an X509_V_ERR_* code. */
const char *wtkms_tls_verify_string(long code);

#endif
