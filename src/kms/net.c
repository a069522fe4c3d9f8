/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.c -- libcurl plumbing shared by the transports, and certificate failures behind libcurl.
 *
 * Debian's libcurl is built on OpenSSL, so CURLOPT_SSL_CTX_FUNCTION hands us its SSL_CTX. The
 * callback keeps OpenSSL's verdict unchanged; it only remembers the first failure, per thread
 * (a handle is used by one thread at a time, and providers may run in several).
 */
#include "net.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <time.h>

#include "crypto.h"

static pthread_once_t net_once = PTHREAD_ONCE_INIT;
static CURLcode net_init_ret = CURLE_OK;

static _Thread_local long verify_error;
static _Thread_local int peer_alert; /* the first fatal alert the server sent, + 1; 0: none */

/*
 * net_global_init --
 *     libcurl's process-wide setup.
 */
static void
net_global_init(void)
{
    net_init_ret = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*
 * wtkms_net_init --
 *     Run libcurl's setup once; its result.
 */
CURLcode
wtkms_net_init(void)
{
    (void)pthread_once(&net_once, net_global_init);
    return (net_init_ret);
}

/*
 * wtkms_net_sleep_ms --
 *     Sleep, resuming after signals.
 */
void
wtkms_net_sleep_ms(long ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * wtkms_net_backoff_ms --
 *     Full jitter: a random time in [0, min(cap, base * 2^retry)].
 */
long
wtkms_net_backoff_ms(const wtkms_http_opts *opts, int retry)
{
    uint32_t r;
    long ceiling;
    int i;

    ceiling = opts->backoff_base_ms;
    for (i = 0; i < retry && ceiling < opts->backoff_cap_ms; i++)
        ceiling *= 2;
    if (ceiling > opts->backoff_cap_ms)
        ceiling = opts->backoff_cap_ms;
    if (ceiling <= 0 || wtkms_random(&r, sizeof(r)) != 0)
        return (ceiling > 0 ? ceiling : 0);
    return ((long)(r % (uint32_t)(ceiling + 1)));
}

/*
 * net_class --
 *     The class of a libcurl error.
 */
static wtkms_net_class
net_class(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        return (WTKMS_NET_REFUSED);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return (WTKMS_NET_UNRESOLVED);
    case CURLE_OPERATION_TIMEDOUT:
        return (WTKMS_NET_TIMEOUT);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return (WTKMS_NET_BROKEN);
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* Both URLs' schemes are checked before sending: this is an HTTP/0.9-style reply. */
        return (WTKMS_NET_NOT_PROTOCOL);
    case CURLE_SSL_CONNECT_ERROR:
        return (WTKMS_NET_HANDSHAKE);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return (WTKMS_NET_UNTRUSTED);
    case CURLE_SSL_CERTPROBLEM:
        return (WTKMS_NET_CLIENT_CERT);
    case CURLE_URL_MALFORMAT:
        return (WTKMS_NET_BAD_URL);
    case CURLE_OUT_OF_MEMORY:
        return (WTKMS_NET_NOMEM);
    default:
        return (WTKMS_NET_OTHER);
    }
}

/*
 * wtkms_net_classify --
 *     A libcurl error as errno, retry decision and advice.
 */
wtkms_net_failure
wtkms_net_classify(CURLcode cc, const char *const why[WTKMS_NET_NCLASS])
{
    static const struct {
        int code;
        bool retry;
    } classes[WTKMS_NET_NCLASS] = {
        [WTKMS_NET_REFUSED] = { ECONNREFUSED, true },
        [WTKMS_NET_UNRESOLVED] = { EHOSTUNREACH, true },
        [WTKMS_NET_TIMEOUT] = { ETIMEDOUT, true },
        [WTKMS_NET_BROKEN] = { ECONNRESET, true },
        [WTKMS_NET_NOT_PROTOCOL] = { EPROTO, true },
        [WTKMS_NET_HANDSHAKE] = { ECONNRESET, true },
        [WTKMS_NET_UNTRUSTED] = { ECONNABORTED, false },
        [WTKMS_NET_CLIENT_CERT] = { EACCES, false },
        [WTKMS_NET_BAD_URL] = { EINVAL, false },
        [WTKMS_NET_NOMEM] = { ENOMEM, false },
        [WTKMS_NET_OTHER] = { EIO, false },
    };
    wtkms_net_failure f;
    wtkms_net_class c = net_class(cc);

    f.code = classes[c].code;
    f.retry = classes[c].retry;
    f.why = why[c];
    return (f);
}

/*
 * verify_cb --
 *     OpenSSL's certificate verification, unchanged, remembering why it failed.
 */
static int
verify_cb(int ok, X509_STORE_CTX *store)
{
    if (!ok && verify_error == 0)
        verify_error = X509_STORE_CTX_get_error(store);
    return (ok);
}

/*
 * info_cb --
 *     Remember the first fatal alert the server sent (why it ended the handshake).
 */
static void
info_cb(const SSL *ssl, int where, int ret)
{
    (void)ssl;
    if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT && peer_alert == 0 &&
        (ret >> 8) == SSL3_AL_FATAL)
        peer_alert = (ret & 0xff) + 1;
}

/*
 * ssl_ctx_cb --
 *     libcurl's hook into the OpenSSL context: keep its verification mode, add the callbacks.
 */
static CURLcode
ssl_ctx_cb(CURL *h, void *ssl_ctx, void *arg)
{
    SSL_CTX *ctx = ssl_ctx;

    (void)h;
    (void)arg;
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_cb);
    SSL_CTX_set_info_callback(ctx, info_cb);
    return (CURLE_OK);
}

/*
 * wtkms_tls_watch --
 *     Hook the recorder into a handle.
 */
void
wtkms_tls_watch(CURL *h)
{
    verify_error = 0;
    peer_alert = 0;
    (void)curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
}

/*
 * wtkms_tls_verify_error --
 *     The recorded failure, or 0.
 */
long
wtkms_tls_verify_error(void)
{
    return (verify_error);
}

/*
 * wtkms_tls_peer_refused_cert --
 *     Whether the server ended the handshake with an alert that refuses our certificate.
 */
bool
wtkms_tls_peer_refused_cert(const char **whyp)
{
    switch (peer_alert - 1) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
        *whyp = SSL_alert_desc_string_long(peer_alert - 1);
        return (true);
    default:
        return (false);
    }
}

/*
 * wtkms_tls_verify_string --
 *     OpenSSL's words for a verification error.
 */
const char *
wtkms_tls_verify_string(long code)
{
    return (X509_verify_cert_error_string(code));
}
