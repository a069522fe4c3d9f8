/*
 * tls.c -- record certificate verification failures behind libcurl.
 *
 * Debian's libcurl is built on OpenSSL, so CURLOPT_SSL_CTX_FUNCTION hands us its SSL_CTX. The
 * callback keeps OpenSSL's verdict unchanged; it only remembers the first failure, per thread
 * (a handle is used by one thread at a time, and providers may run in several).
 */
#include "tls.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

static _Thread_local long verify_error;

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
 * ssl_ctx_cb --
 *     libcurl's hook into the OpenSSL context: keep its verification mode, add the callback.
 */
static CURLcode
ssl_ctx_cb(CURL *h, void *ssl_ctx, void *arg)
{
    SSL_CTX *ctx = ssl_ctx;

    (void)h;
    (void)arg;
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), verify_cb);
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
 * wtkms_tls_verify_string --
 *     OpenSSL's words for a verification error.
 */
const char *
wtkms_tls_verify_string(long code)
{
    return (X509_verify_cert_error_string(code));
}
