/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_kmip.c -- the kmip provider end to end, the fuzzer playing the KMIP server: wrap, then
 * unwrap, through kmip.c's own code: the request it builds, kmip_tls.c's transport loop (handshake
 * outcome, retries, would-block and partial reads, the length framing of the answer, a connection
 * closed early, a client certificate refused), the response parse, the batch matching, the State
 * check, each result status and reason, and the sizes of what Encrypt and Decrypt hand back.
 *
 * The transport's libcurl calls are replaced at link time (fuzz/build.sh links this target with
 * -Wl,--wrap for them): curl_easy_perform (the TLS handshake), curl_easy_send, curl_easy_recv and
 * curl_easy_getinfo (the socket the transport polls); so are net.c's sleep (no backoff waits) and
 * its records of a certificate rejected either way. Nothing of kmip.c or kmip_tls.c is replaced.
 *
 * Input: one record per connection attempt, in the order the client makes them:
 *   u8 handshake  low 4 bits: 0 connected, else the libcurl failure fails[] names; bit 6: the
 *                 server's certificate failed verification; bit 7: the server refuses the
 *                 client certificate (after the handshake, at the first read, as with TLS 1.3)
 *   u8 reads      low 6 bits + 1 bytes per recv (63: all that is asked); bit 6: every read and
 *                 write says "would block" first; bit 7: the request is taken 7 bytes at a time
 *   u16le n       then n bytes the server sends (the client reads what its framing says; the
 *                 connection closes after them)
 * When the input runs out, every further connection is refused.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "kmip_ttlv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

CURLcode __wrap_curl_easy_perform(CURL *h);
CURLcode __wrap_curl_easy_send(CURL *h, const void *buf, size_t len, size_t *n);
CURLcode __wrap_curl_easy_recv(CURL *h, void *buf, size_t len, size_t *n);
CURLcode __wrap_curl_easy_getinfo(CURL *h, CURLINFO info, ...);
CURLcode __real_curl_easy_getinfo(CURL *h, CURLINFO info, ...);
void __wrap_wtkms_net_sleep_ms(long ms);
long __wrap_wtkms_tls_verify_error(void);
bool __wrap_wtkms_tls_peer_refused_cert(const char **whyp);

#define REQ_MAX 2048 /* kmip.c's KMIP_MAX_REQUEST: a longer request is a client bug */

/* Handshake failures libcurl reports, as kmip.c classifies them. */
static const CURLcode fails[] = { CURLE_OK, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST,
    CURLE_OPERATION_TIMEDOUT, CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION,
    CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
    CURLE_GOT_NOTHING, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SSL_ISSUER_ERROR, CURLE_OUT_OF_MEMORY,
    CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_UNSUPPORTED_PROTOCOL };

static const uint8_t *in;
static size_t in_len, in_off;

/* The connection of the current attempt. */
static struct {
    bool open, refused, again, blocked, trickle;
    long verify_error;
    size_t chunk;
    const uint8_t *answer;
    size_t answer_len, answer_off;
    uint8_t req[REQ_MAX];
    size_t req_len;
    bool req_checked;
} conn;

static char config[4096];
static uint8_t fallback[61]; /* a blob of the kmip provider's shape, when wrap fails */
static int sock[2];

/*
 * LLVMFuzzerInitialize --
 *     The client certificate and key files (never parsed: there is no handshake), the
 *     configuration, and a socket that is always readable and writable for the transport's poll.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Placeholder contents, shaped like no credential: the files are named, never read. */
    static const char pem[] = "placeholder: the fuzz target never parses this file\n";
    char cert[256], key[256];

    (void)argc;
    (void)argv;
    (void)snprintf(cert, sizeof(cert), "%s", fuzz_write_file("kmip-client.crt", pem, strlen(pem)));
    (void)snprintf(key, sizeof(key), "%s", fuzz_write_file("kmip-client.key", pem, strlen(pem)));
    (void)snprintf(config, sizeof(config),
      "provider=kmip,endpoint=127.0.0.1:5696,key_id=fuzz-kmip-key-42,client_cert_file=%s,"
      "client_key_file=%s,max_retries=3,retry_base_ms=1,retry_cap_ms=1",
      cert, key);
    fallback[0] = 0x01;
    memset(fallback + 1, 0x44, sizeof(fallback) - 1);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock) != 0 || write(sock[1], "x", 1) != 1)
        abort();
    return (0);
}

/*
 * __wrap_curl_easy_perform --
 *     The TLS handshake of one attempt: the next record of the input.
 */
CURLcode
__wrap_curl_easy_perform(CURL *h)
{
    uint8_t hs, rd;
    size_t n;

    (void)h;
    memset(&conn, 0, sizeof(conn));
    if (in_len - in_off < 4) {
        in_off = in_len;
        return (CURLE_COULDNT_CONNECT);
    }
    hs = in[in_off];
    rd = in[in_off + 1];
    n = (size_t)in[in_off + 2] | (size_t)in[in_off + 3] << 8;
    in_off += 4;
    if (n > in_len - in_off)
        n = in_len - in_off;
    conn.answer = in + in_off;
    conn.answer_len = n;
    in_off += n;
    conn.verify_error = (hs & 0x40) != 0 ? 10 /* X509_V_ERR_CERT_HAS_EXPIRED */ : 0;
    conn.refused = (hs & 0x80) != 0;
    conn.chunk = (rd & 0x3F) == 0x3F ? SIZE_MAX : (size_t)(rd & 0x3F) + 1;
    conn.again = (rd & 0x40) != 0;
    conn.trickle = (rd & 0x80) != 0;
    if ((hs & 0x0F) != 0)
        return (fails[hs & 0x0F]);
    conn.open = true;
    return (CURLE_OK);
}

/*
 * would_block --
 *     Every other call says "would block" when the record asks for it.
 */
static bool
would_block(void)
{
    if (!conn.again)
        return (false);
    conn.blocked = !conn.blocked;
    return (conn.blocked);
}

/*
 * __wrap_curl_easy_send --
 *     Take the request (checked to be one well-framed TTLV request message once complete).
 */
CURLcode
__wrap_curl_easy_send(CURL *h, const void *buf, size_t len, size_t *n)
{
    (void)h;
    *n = 0;
    if (!conn.open)
        abort(); /* a send without a connection */
    if (would_block())
        return (CURLE_AGAIN);
    if (conn.trickle && len > 7)
        len = 7;
    if (len > sizeof(conn.req) - conn.req_len)
        abort(); /* longer than the client's own limit */
    memcpy(conn.req + conn.req_len, buf, len);
    conn.req_len += len;
    *n = len;
    return (CURLE_OK);
}

/*
 * check_request --
 *     What the client sent before reading: a whole request message and nothing more.
 */
static void
check_request(void)
{
    wtkms_ttlv msg;

    if (conn.req_checked)
        return;
    conn.req_checked = true;
    if (conn.req_len < WTKMS_TTLV_HEADER_LEN ||
        wtkms_ttlv_message_len(conn.req, sizeof(conn.req)) != conn.req_len ||
        wtkms_ttlv_parse(conn.req, conn.req_len, &msg) != 0 ||
        msg.tag != WTKMS_KMIP_TAG_REQUEST_MESSAGE)
        abort();
}

/*
 * __wrap_curl_easy_recv --
 *     The server's bytes, in the record's chunks; closed after them.
 */
CURLcode
__wrap_curl_easy_recv(CURL *h, void *buf, size_t len, size_t *n)
{
    size_t m;

    (void)h;
    *n = 0;
    if (!conn.open)
        abort();
    check_request();
    if (conn.refused)
        return (CURLE_RECV_ERROR); /* the alert arrives at the first read */
    if (would_block())
        return (CURLE_AGAIN);
    m = conn.answer_len - conn.answer_off;
    if (m > len)
        m = len;
    if (m > conn.chunk)
        m = conn.chunk;
    memcpy(buf, conn.answer + conn.answer_off, m);
    conn.answer_off += m;
    *n = m; /* 0: closed */
    return (CURLE_OK);
}

/*
 * __wrap_curl_easy_getinfo --
 *     The socket the transport polls: one that is always ready. Anything else is libcurl's.
 */
CURLcode
__wrap_curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    va_list ap;
    void *p;

    va_start(ap, info);
    p = va_arg(ap, void *);
    va_end(ap);
    if (info == CURLINFO_ACTIVESOCKET) {
        *(curl_socket_t *)p = sock[0];
        return (CURLE_OK);
    }
    return (__real_curl_easy_getinfo(h, info, p));
}

/*
 * __wrap_wtkms_net_sleep_ms --
 *     Backoff without waiting.
 */
void
__wrap_wtkms_net_sleep_ms(long ms)
{
    (void)ms;
}

/*
 * __wrap_wtkms_tls_verify_error --
 *     The server certificate's verification, as the record says.
 */
long
__wrap_wtkms_tls_verify_error(void)
{
    return (conn.verify_error);
}

/*
 * __wrap_wtkms_tls_peer_refused_cert --
 *     Whether the server refused the client certificate, as the record says.
 */
bool
__wrap_wtkms_tls_peer_refused_cert(const char **whyp)
{
    *whyp = "certificate unknown";
    return (conn.refused);
}

/*
 * LLVMFuzzerTestOneInput --
 *     Wrap, then unwrap what came back (or a blob of the right shape).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in = data;
    in_len = size;
    in_off = 0;
    (void)fuzz_provider_roundtrip(config, NULL, 0, fallback, sizeof(fallback), "");
    memset(&conn, 0, sizeof(conn));
    return (0);
}
