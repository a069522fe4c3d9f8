/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kmip_tls.c -- the "kmip" provider's transport: one TTLV request and its response over a TLS
 * connection that libcurl opens (CURLOPT_CONNECT_ONLY: certificate verification, client
 * certificate, CA file, proxy and timeouts exactly as for HTTPS), then curl_easy_send and
 * curl_easy_recv. Requests are idempotent, so connection failures and timeouts are retried with
 * the same capped, jittered backoff as HTTP; TLS verification failures never are.
 */
#include "kmip_tls.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "kmip_ttlv.h"
#include "net.h"

/* Advice for each class of transport failure (net.h). */
static const char *const kmip_why[WTKMS_NET_NCLASS] = {
    [WTKMS_NET_REFUSED] =
      "check the endpoint setting and that the KMIP server is reachable from this host",
    [WTKMS_NET_UNRESOLVED] = "the host name does not resolve: check the endpoint, proxy and DNS",
    [WTKMS_NET_TIMEOUT] = "the KMIP server did not answer in time: check the network, or raise "
                          "timeout_ms/deadline_ms",
    [WTKMS_NET_BROKEN] = "the connection broke before a full answer came; if it keeps happening, "
                         "check that the server accepts this client certificate",
    [WTKMS_NET_NOT_PROTOCOL] = "the server did not answer as a KMIP server over TLS does: check "
                               "that endpoint names the KMIP port (usually 5696)",
    [WTKMS_NET_HANDSHAKE] = "the TLS handshake failed: check that the endpoint speaks TLS and that "
                            "the server accepts this client certificate (client_cert_file, "
                            "client_key_file)",
    [WTKMS_NET_UNTRUSTED] = "the server's TLS certificate is not trusted for this host name: set "
                            "ca_file= to the CA that issued the KMIP server's certificate (not "
                            "retried)",
    [WTKMS_NET_CLIENT_CERT] = "the client certificate or key cannot be used: check "
                              "client_cert_file and client_key_file (PEM, unencrypted, a matching "
                              "pair)",
    [WTKMS_NET_BAD_URL] = "check the endpoint setting (HOST[:PORT])",
    [WTKMS_NET_NOMEM] = "out of memory",
    [WTKMS_NET_OTHER] = "unexpected transport failure",
};

/*
 * wait_socket --
 *     Wait until the connection's socket is readable or writable, or the deadline passes.
 */
static CURLcode
wait_socket(CURL *h, bool for_read, int64_t deadline)
{
    curl_socket_t fd;
    struct pollfd pfd;
    int64_t left;
    int n;

    if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
        return (CURLE_RECV_ERROR);
    for (;;) {
        if ((left = deadline - wtkms_mono_ms()) <= 0)
            return (CURLE_OPERATION_TIMEDOUT);
        pfd.fd = fd;
        pfd.events = for_read ? POLLIN : POLLOUT;
        pfd.revents = 0;
        n = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
        if (n > 0)
            return (CURLE_OK);
        if (n < 0 && errno != EINTR)
            return (CURLE_RECV_ERROR);
    }
}

/*
 * send_all --
 *     Write a whole message.
 */
static CURLcode
send_all(CURL *h, const uint8_t *buf, size_t len, int64_t deadline)
{
    CURLcode cc;
    size_t off, n;

    for (off = 0; off < len;) {
        n = 0;
        cc = curl_easy_send(h, buf + off, len - off, &n);
        if (cc == CURLE_AGAIN) {
            if ((cc = wait_socket(h, false, deadline)) != CURLE_OK)
                return (cc);
            continue;
        }
        if (cc != CURLE_OK)
            return (cc);
        off += n;
    }
    return (CURLE_OK);
}

/*
 * recv_exact --
 *     Read exactly len bytes. TLS may hold decrypted bytes that poll cannot see, so read first
 *     and wait only when libcurl says there is nothing.
 */
static CURLcode
recv_exact(CURL *h, uint8_t *buf, size_t len, int64_t deadline)
{
    CURLcode cc;
    size_t off, n;

    for (off = 0; off < len;) {
        n = 0;
        cc = curl_easy_recv(h, buf + off, len - off, &n);
        if (cc == CURLE_AGAIN) {
            if ((cc = wait_socket(h, true, deadline)) != CURLE_OK)
                return (cc);
            continue;
        }
        if (cc != CURLE_OK)
            return (cc);
        if (n == 0) /* closed by the server before a whole message */
            return (CURLE_GOT_NOTHING);
        off += n;
    }
    return (CURLE_OK);
}

/*
 * kmip_attempt --
 *     One connection: TLS handshake, request, response. *lenp is the response's length.
 */
static CURLcode
kmip_attempt(const wtkms_kmip_conn *c, const uint8_t *req, size_t req_len, uint8_t *resp,
  size_t *lenp, int64_t deadline, char *errbuf, bool *bad_framep)
{
    struct curl_blob key_blob;
    CURL *h;
    CURLcode cc;
    size_t total;

    *lenp = 0;
    *bad_framep = false;
    errbuf[0] = '\0';
    if ((h = curl_easy_init()) == NULL)
        return (CURLE_OUT_OF_MEMORY);
#define SET(opt, val)                                         \
    do {                                                      \
        if ((cc = curl_easy_setopt(h, opt, val)) != CURLE_OK) \
            goto done;                                        \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_URL, c->url);
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    /* KMIP is not HTTP: offer no application protocol a strict server could refuse. */
    SET(CURLOPT_SSL_ENABLE_ALPN, 0L);
    SET(CURLOPT_SSLCERT, c->cert_file);
    SET(CURLOPT_SSLCERTTYPE, "PEM");
    key_blob.data = c->key_pem;
    key_blob.len = c->key_pem_len;
    key_blob.flags = CURL_BLOB_NOCOPY;
    SET(CURLOPT_SSLKEY_BLOB, &key_blob);
    SET(CURLOPT_SSLKEYTYPE, "PEM");
    if (c->opts->ca_file[0] != '\0')
        SET(CURLOPT_CAINFO, c->opts->ca_file);
    if (c->opts->proxy[0] != '\0')
        SET(CURLOPT_PROXY, c->opts->proxy);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->opts->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, c->opts->timeout_ms);
#undef SET
    /* Where libcurl is built on OpenSSL (Debian's is), see why a certificate was rejected. */
    wtkms_tls_watch(h);
    if ((cc = curl_easy_perform(h)) != CURLE_OK) {
        /*
         * A certificate that fails verification can come back as a generic handshake error (a
         * CA of the same name but another key reports OpenSSL's "invalid padding"): the
         * verification callback tells it apart, and it is never worth a retry.
         */
        if (wtkms_tls_verify_error() != 0) {
            cc = CURLE_PEER_FAILED_VERIFICATION;
            (void)snprintf(errbuf, CURL_ERROR_SIZE,
              "the server's certificate failed verification (%s)",
              wtkms_tls_verify_string(wtkms_tls_verify_error()));
        }
        goto done;
    }
    if ((cc = send_all(h, req, req_len, deadline)) != CURLE_OK)
        goto done;
    if ((cc = recv_exact(h, resp, WTKMS_TTLV_HEADER_LEN, deadline)) != CURLE_OK)
        goto done;
    if ((total = wtkms_ttlv_message_len(resp, c->max_response)) == 0) {
        *bad_framep = true;
        cc = CURLE_RECV_ERROR;
        goto done;
    }
    if ((cc = recv_exact(
           h, resp + WTKMS_TTLV_HEADER_LEN, total - WTKMS_TTLV_HEADER_LEN, deadline)) != CURLE_OK)
        goto done;
    *lenp = total;
done:
    curl_easy_cleanup(h);
    return (cc);
}

/*
 * wtkms_kmip_roundtrip --
 *     Send a request and read the response, retrying what may succeed on a second try.
 */
int
wtkms_kmip_roundtrip(const wtkms_kmip_conn *c, const char *what, const uint8_t *req, size_t req_len,
  uint8_t *resp, size_t *lenp, wtkms_err *err)
{
    wtkms_net_failure f;
    CURLcode cc;
    char errbuf[CURL_ERROR_SIZE];
    int64_t start, deadline, attempt_deadline;
    const char *alert;
    long sleep;
    int attempt;
    bool bad_frame;

    if (wtkms_net_init() != CURLE_OK)
        return (wtkms_errf(err, EIO, "KMIP %s: libcurl cannot initialize", what));
    start = wtkms_mono_ms();
    deadline = start + c->opts->deadline_ms;
    for (attempt = 1;; attempt++) {
        attempt_deadline = wtkms_mono_ms() + c->opts->timeout_ms;
        if (attempt_deadline > deadline)
            attempt_deadline = deadline;
        cc = kmip_attempt(c, req, req_len, resp, lenp, attempt_deadline, errbuf, &bad_frame);
        if (cc == CURLE_OK)
            return (0);
        if (bad_frame)
            return (wtkms_errf(err, EPROTO,
              "KMIP %s of key %s: the server at %s answered something that is not a KMIP "
              "message: check that endpoint names the KMIP port (usually 5696)",
              what, c->key_id, c->endpoint));
        f = wtkms_net_classify(cc, kmip_why);
        /*
         * The server refused our certificate (a fatal TLS alert; with TLS 1.3 it comes after the
         * handshake, on the first read): that will not change on a second try.
         */
        if (cc != CURLE_PEER_FAILED_VERIFICATION && wtkms_tls_peer_refused_cert(&alert))
            return (wtkms_errf(err, EACCES,
              "KMIP %s of key %s: the server at %s refused this client certificate (TLS alert "
              "\"%s\"; not retried): check that client_cert_file %s is issued by a CA the "
              "server trusts, has not expired or been revoked, and that client_key_file is its "
              "key",
              what, c->key_id, c->endpoint, alert, c->cert_file));
        if (!f.retry || attempt >= c->opts->max_attempts)
            break;
        sleep = wtkms_net_backoff_ms(c->opts, attempt - 1);
        if (wtkms_mono_ms() + sleep >= deadline)
            break;
        wtkms_net_sleep_ms(sleep);
    }
    return (wtkms_errf(err, f.code,
      "KMIP %s of key %s at %s failed after %d attempt%s in %lld ms: %s: %s", what, c->key_id,
      c->endpoint, attempt, attempt == 1 ? "" : "s", (long long)(wtkms_mono_ms() - start),
      errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc), f.why));
}
