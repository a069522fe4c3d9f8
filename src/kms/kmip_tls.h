/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kmip_tls.h -- the "kmip" provider's transport: a TTLV request and its response over TLS with a
 * client certificate, retried as the common transport settings allow (http.h).
 */
#ifndef WTKMS_KMIP_TLS_H
#define WTKMS_KMIP_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"

/* Where and as whom to connect. */
typedef struct {
    const char *url;       /* "https://host:port" for libcurl */
    const char *endpoint;  /* "host:port", for messages */
    const char *key_id;    /* the key the request is about, for messages */
    const char *cert_file; /* client certificate (PEM) */
    char *key_pem;         /* client private key (PEM), in locked memory: never copied */
    size_t key_pem_len;
    const wtkms_http_opts *opts; /* CA file, proxy, timeouts, retries */
    size_t max_response;         /* resp holds this many bytes */
} wtkms_kmip_conn;

/*
 * Send a request (what names it) and read one whole TTLV response into resp (*lenp bytes).
 * Connection failures and timeouts are retried; a server certificate that fails verification, a
 * client certificate the server refuses, and an answer that is not a TTLV message are not.
 */
int wtkms_kmip_roundtrip(const wtkms_kmip_conn *c, const char *what, const uint8_t *req,
  size_t req_len, uint8_t *resp, size_t *lenp, wtkms_err *err);

#endif
