/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.h -- libcurl plumbing shared by the two transports (http.c for HTTPS, kmip.c for KMIP's
 * raw TLS): process-wide init, the clock and sleep the retry loops use, the backoff, and why a
 * server certificate was rejected.
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

#include "http.h"

/* libcurl's process-wide setup, once (never cleaned up: the extension stays loaded). */
CURLcode wtkms_net_init(void);

/* Monotonic milliseconds. */
int64_t wtkms_net_now_ms(void);

/* Sleep ms milliseconds, resuming after signals. */
void wtkms_net_sleep_ms(long ms);

/* Full jitter: a random time in [0, min(cap, base * 2^retry)] (retry counts from 0). */
long wtkms_net_backoff_ms(const wtkms_http_opts *opts, int retry);

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
