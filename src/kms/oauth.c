/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth.c -- base64, JSON, RS256 JWTs, form bodies and cached tokens for the azure and gcp
 * providers. See oauth.h.
 */
#include "oauth.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secure.h"

/* Refresh a token this long before it expires (or at half its life if that is shorter). */
#define TOKEN_MARGIN_MS (5 * 60 * 1000)

/*
 * wtkms_json_parse --
 *     JSON to a document.
 */
int
wtkms_json_parse(const char *body, size_t len, bson_t *doc)
{
    bson_error_t error;

    if (body == NULL || len == 0 || len > (size_t)SSIZE_MAX ||
        !bson_init_from_json(doc, body, (ssize_t)len, &error)) {
        bson_init(doc);
        return (EPROTO);
    }
    return (0);
}

/*
 * wtkms_bson_wipe --
 *     Wipe a document's bytes, then destroy it.
 */
void
wtkms_bson_wipe(bson_t *doc)
{
    uint8_t *data;

    /* The data of a document we built or parsed is ours to write. */
    if ((data = (uint8_t *)bson_get_data(doc)) != NULL && doc->len > 0)
        wtkms_wipe(data, doc->len);
    bson_destroy(doc);
}

/*
 * wtkms_json_str --
 *     A string at a dotted path.
 */
const char *
wtkms_json_str(const bson_t *doc, const char *path, uint32_t *lenp)
{
    bson_iter_t it, child;
    uint32_t len;
    const char *s;

    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &child) ||
        !BSON_ITER_HOLDS_UTF8(&child))
        return (NULL);
    s = bson_iter_utf8(&child, &len);
    if (lenp != NULL)
        *lenp = len;
    return (s);
}

/*
 * wtkms_json_printable --
 *     A string of a service's answer, safe for a message.
 */
void
wtkms_json_printable(const bson_t *doc, const char *path, char *out, size_t outlen)
{
    const char *s;
    uint32_t len;

    s = wtkms_json_str(doc, path, &len);
    wtkms_printable(s, s != NULL ? len : 0, out, outlen);
}

/*
 * wtkms_json_int --
 *     An integer at a dotted path, as a number or a decimal string.
 */
int
wtkms_json_int(const bson_t *doc, const char *path, int64_t *vp)
{
    bson_iter_t it, child;
    const char *s;
    char *end;
    long long v;
    double d;

    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &child))
        return (ENOENT);
    if (BSON_ITER_HOLDS_INT32(&child) || BSON_ITER_HOLDS_INT64(&child)) {
        *vp = bson_iter_as_int64(&child);
        return (0);
    }
    if (BSON_ITER_HOLDS_DOUBLE(&child)) {
        /* Converting a double outside int64's range is undefined: keep to +-2^53. */
        d = bson_iter_double(&child);
        if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0))
            return (ENOENT);
        *vp = (int64_t)d;
        return (0);
    }
    if (BSON_ITER_HOLDS_UTF8(&child)) {
        s = bson_iter_utf8(&child, NULL);
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == 0 && end != s && *end == '\0') {
            *vp = v;
            return (0);
        }
    }
    return (ENOENT);
}

/*
 * wtkms_json_text --
 *     Compact JSON of a document.
 */
char *
wtkms_json_text(const bson_t *doc, size_t *lenp)
{
    return (bson_as_relaxed_extended_json(doc, lenp));
}

/*
 * wtkms_pem_private_key --
 *     A private key from PEM text (never prompting for a passphrase).
 */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return (0);
}

int
wtkms_pem_private_key(const char *pem, size_t len, EVP_PKEY **keyp)
{
    BIO *bio;

    *keyp = NULL;
    if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
        return (EINVAL);
    *keyp = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return (*keyp != NULL ? 0 : EINVAL);
}

/*
 * wtkms_pem_cert_x5t --
 *     SHA-1 thumbprint of a PEM certificate, base64url: what Entra ID matches a client assertion's
 *     "x5t" header against.
 */
int
wtkms_pem_cert_x5t(const char *pem, size_t len, char *out, size_t outlen)
{
    BIO *bio;
    X509 *cert;
    unsigned char *der, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    int derlen, ret;

    if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
        return (EINVAL);
    cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (cert == NULL)
        return (EINVAL);
    der = NULL;
    ret = EINVAL;
    if ((derlen = i2d_X509(cert, &der)) > 0 &&
        EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha1(), NULL) == 1)
        ret = wtkms_b64_encode(md, mdlen, true, out, outlen);
    OPENSSL_free(der);
    X509_free(cert);
    return (ret);
}

/*
 * b64url_doc --
 *     Append base64url(compact JSON of doc) to a buffer.
 */
static int
b64url_doc(wtkms_dbuf *b, const bson_t *doc)
{
    char *json, *enc;
    size_t len, enclen;
    int ret;

    if ((json = wtkms_json_text(doc, &len)) == NULL)
        return (ENOMEM);
    enclen = WTKMS_B64_LEN(len);
    if ((enc = malloc(enclen)) == NULL) {
        bson_free(json);
        return (ENOMEM);
    }
    if ((ret = wtkms_b64_encode((const uint8_t *)json, len, true, enc, enclen)) == 0)
        ret = wtkms_dbuf_str(b, enc);
    wtkms_wipe(json, len);
    bson_free(json);
    wtkms_wipe(enc, enclen);
    free(enc);
    return (ret);
}

/*
 * wtkms_jwt_rs256 --
 *     Build and sign a JWT with RSASSA-PKCS1-v1_5 SHA-256.
 */
int
wtkms_jwt_rs256(
  EVP_PKEY *key, const bson_t *header, const bson_t *claims, char **jwtp, wtkms_err *err)
{
    EVP_MD_CTX *md;
    wtkms_dbuf b;
    uint8_t *sig;
    char *enc;
    size_t siglen, enclen;
    int ret;

    *jwtp = NULL;
    memset(&b, 0, sizeof(b));
    sig = NULL;
    enc = NULL;
    md = NULL;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        return (wtkms_errf(err, EINVAL, "the private key is not an RSA key: RS256 needs one"));
    if ((ret = b64url_doc(&b, header)) != 0)
        goto oom;
    (void)wtkms_dbuf_add(&b, ".", 1);
    if ((ret = b64url_doc(&b, claims)) != 0)
        goto oom;
    if ((md = EVP_MD_CTX_new()) == NULL)
        goto oom;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)b.p, b.len) != 1 ||
        (sig = malloc(siglen)) == NULL ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)b.p, b.len) != 1) {
        ret = wtkms_errf(err, EINVAL, "cannot sign a JWT with this RSA key (OpenSSL error)");
        goto done;
    }
    enclen = WTKMS_B64_LEN(siglen);
    if ((enc = malloc(enclen)) == NULL)
        goto oom;
    (void)wtkms_b64_encode(sig, siglen, true, enc, enclen);
    (void)wtkms_dbuf_add(&b, ".", 1);
    if (wtkms_dbuf_str(&b, enc) != 0)
        goto oom;
    *jwtp = b.s; /* handed over: the caller wipes and frees it */
    b.s = NULL;
    ret = 0;
    goto done;
oom:
    ret = wtkms_errf(err, ENOMEM, "out of memory building a JWT");
done:
    EVP_MD_CTX_free(md);
    free(sig);
    free(enc);
    wtkms_dbuf_free(&b);
    return (ret);
}

/*
 * wtkms_token_fresh --
 *     Whether the cached token may be used now.
 */
bool
wtkms_token_fresh(const wtkms_token *t)
{
    return (t->value != NULL && wtkms_mono_ms() < t->expires_ms);
}

/*
 * wtkms_token_from_json --
 *     Cache the token of a token endpoint's answer.
 */
int
wtkms_token_from_json(const bson_t *doc, wtkms_token *t, const char *what, wtkms_err *err)
{
    const char *tok;
    uint32_t len, i;
    int64_t life_s, life_ms, margin, on, now;

    wtkms_token_clear(t);
    if ((tok = wtkms_json_str(doc, "access_token", &len)) == NULL || len == 0)
        return (wtkms_errf(err, EPROTO, "%s: the answer has no access_token", what));
    if (len > WTKMS_TOKEN_MAX)
        return (wtkms_errf(err, EPROTO,
          "%s: the answer's access_token is %u bytes, more than the %d a token may have", what, len,
          WTKMS_TOKEN_MAX));
    /* It goes into an Authorization header: CR, LF or any control character would inject one. */
    for (i = 0; i < len; i++)
        if ((unsigned char)tok[i] < 0x20 || (unsigned char)tok[i] == 0x7f)
            return (wtkms_errf(err, EPROTO,
              "%s: the answer's access_token carries control characters (CR, LF, ...): refusing "
              "to send it in a header; check the token endpoint",
              what));
    /*
     * expires_in (OAuth 2.0), or expires_on (seconds since the epoch: App Service identity). Both
     * come from the service: range-checked before any arithmetic.
     */
    if (wtkms_json_int(doc, "expires_in", &life_s) != 0) {
        if (wtkms_json_int(doc, "expires_on", &on) == 0) {
            now = (int64_t)time(NULL);
            if (on < 0 || on > now + WTKMS_TOKEN_MAX_LIFE_S * 100)
                return (wtkms_errf(err, EPROTO,
                  "%s: the answer's expires_on %lld is not a time in the next few years: check "
                  "the token endpoint",
                  what, (long long)on));
            life_s = on - now;
        } else
            life_s = 0;
    }
    if (life_s <= 0)
        life_s = 60; /* unknown: use it briefly, then ask again */
    if (life_s > WTKMS_TOKEN_MAX_LIFE_S)
        life_s = WTKMS_TOKEN_MAX_LIFE_S;
    life_ms = life_s * 1000;
    margin = life_ms / 2 < TOKEN_MARGIN_MS ? life_ms / 2 : TOKEN_MARGIN_MS;
    if ((t->value = malloc(len + 1)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    memcpy(t->value, tok, len);
    t->value[len] = '\0';
    t->expires_ms = wtkms_mono_ms() + life_ms - margin;
    return (0);
}

/*
 * wtkms_token_clear --
 *     Wipe and forget a token.
 */
void
wtkms_token_clear(wtkms_token *t)
{
    if (t->value != NULL) {
        wtkms_wipe(t->value, strlen(t->value));
        free(t->value);
    }
    t->value = NULL;
    t->expires_ms = 0;
}
