/*
 * tls.h -- why a server certificate was rejected, for every TLS connection libcurl makes.
 *
 * libcurl reports some certificate failures as a generic handshake error (a CA with the right
 * name but another key shows up as OpenSSL's "invalid padding"), which looks transient. A
 * verification callback hooked into libcurl's OpenSSL context records the real reason, so the
 * caller can report it and never retry it.
 */
#ifndef WTKMS_TLS_H
#define WTKMS_TLS_H

#include <curl/curl.h>

/* Hook the recorder into a handle (CURLOPT_SSL_CTX_FUNCTION) and clear this thread's record. */
void wtkms_tls_watch(CURL *h);

/* This thread's certificate error since wtkms_tls_watch (an X509_V_ERR_*), or 0. */
long wtkms_tls_verify_error(void);

/* Words for an X509_V_ERR_* code. */
const char *wtkms_tls_verify_string(long code);

#endif
