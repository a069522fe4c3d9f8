/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth.h -- what the bearer-token providers (azure, gcp) share: base64url (b64.h), JSON
 * through libbson, RS256 JSON Web Tokens signed with OpenSSL, form bodies, and a cached access
 * token.
 *
 * Everything that may hold a secret (a form body with a client secret or an assertion, a token,
 * a JSON document with a key in it) lives in memory that is wiped before it is freed.
 */
#ifndef WTKMS_OAUTH_H
#define WTKMS_OAUTH_H

#include <bson/bson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "b64.h"
#include "clock.h"
#include "dbuf.h"
#include "err.h"
#include "http.h"

/* Parse a JSON body into doc (initialized here): 0 or EPROTO. Destroy with wtkms_bson_wipe. */
int wtkms_json_parse(const char *body, size_t len, bson_t *doc);
/* A document's bytes wiped, then destroyed (it may have held a key or a token). */
void wtkms_bson_wipe(bson_t *doc);
/* The UTF-8 value at a dotted path ("error.code"), or NULL. */
const char *wtkms_json_str(const bson_t *doc, const char *path, uint32_t *lenp);
/* The UTF-8 value at a dotted path made printable (wtkms_printable) into out; "" when absent. */
void wtkms_json_printable(const bson_t *doc, const char *path, char *out, size_t outlen);
/* An integer at a dotted path, given as a number or a decimal string: 0 or ENOENT. */
int wtkms_json_int(const bson_t *doc, const char *path, int64_t *vp);
/* A document as compact JSON, malloc'd (bson_free after wiping), or NULL. */
char *wtkms_json_text(const bson_t *doc, size_t *lenp);

/* Load a PEM private key (RSA or EC) from memory: 0, or EINVAL. */
int wtkms_pem_private_key(const char *pem, size_t len, EVP_PKEY **keyp);
/* The base64url SHA-1 thumbprint ("x5t") of the first certificate in a PEM: 0 or EINVAL. */
int wtkms_pem_cert_x5t(const char *pem, size_t len, char *out, size_t outlen);

/*
 * A signed RS256 JWT: base64url(header) "." base64url(claims) "." base64url(signature), the
 * header and claims given as documents. *jwtp is malloc'd; wipe and free it.
 */
int wtkms_jwt_rs256(
  EVP_PKEY *key, const bson_t *header, const bson_t *claims, char **jwtp, wtkms_err *err);

/* Bounds on what a token endpoint may answer (docs/FORMATS.md, "Limits"). */
#define WTKMS_TOKEN_MAX (64 * 1024)        /* bytes of an access_token */
#define WTKMS_TOKEN_MAX_LIFE_S (24 * 3600) /* a longer lifetime is cut to this */

/* An access token and when it expires (monotonic milliseconds). */
typedef struct {
    char *value; /* NULL when there is none */
    int64_t expires_ms;
} wtkms_token;

/*
 * Whether a cached token may still be used: it must outlive the next few calls, so it is
 * refreshed 5 minutes before it expires (or at half its life, for short-lived tokens).
 */
bool wtkms_token_fresh(const wtkms_token *t);
/*
 * Take "access_token" and "expires_in" (a number or a string, as Azure's IMDS sends it) or
 * "expires_on" (App Service) from a 200 answer of a token endpoint. what names the request in
 * errors.
 */
int wtkms_token_from_json(const bson_t *doc, wtkms_token *t, const char *what, wtkms_err *err);
void wtkms_token_clear(wtkms_token *t);

/* Who asks a token endpoint, for the words of wtkms_token_request's errors. */
typedef struct {
    const wtkms_http_opts *opts;
    const char *provider;     /* "azure", "gcp": prefixes a transport error */
    const char *cred_desc;    /* which credential, never its secret */
    const char *service;      /* the token service named when it fails, or NULL */
    const char *refused_hint; /* what to check when the credential is refused */
} wtkms_token_src;

/*
 * Send a token request (req->what names it) and take the token from a 200 answer into *t. A
 * failing token service is EAGAIN; a refused credential, EACCES with refused_hint.
 */
int wtkms_token_request(
  const wtkms_token_src *src, const wtkms_http_req *req, wtkms_token *t, wtkms_err *err);

/* A service called with a cached bearer token (Azure Key Vault, Cloud KMS). */
typedef struct {
    const wtkms_http_opts *opts;
    wtkms_token *token;
    int (*fetch)(void *arg, wtkms_err *err); /* fill *token with a new token */
    void *fetch_arg;
    const char *label;          /* "Azure Key Vault key NAME": what the messages name */
    const char *where;          /* the service's base URL, for messages */
    const char *setting;        /* the setting that names it, "vault_url=", "endpoint=" */
    const char *const *headers; /* request headers (a JSON content type) */
} wtkms_bearer;

/*
 * One request with the cached token, fetching one when none is fresh; a 401 on a cached token
 * drops it, fetches a new one and tries once more. Returns 0 when the service answered: *doc
 * (initialized here; destroy with wtkms_bson_wipe) holds the JSON answer, *statusp its status; a
 * 200 answer that is not JSON is EPROTO.
 */
int wtkms_bearer_call(const wtkms_bearer *b, const char *what, const char *method, const char *url,
  const char *body, size_t body_len, bson_t *doc, long *statusp, int *attemptsp, wtkms_err *err);

#endif
