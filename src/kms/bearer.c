/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bearer.c -- what the bearer-token providers (azure, gcp) do the same way around a request: read
 * a token endpoint's answer, and call the service with the cached token, asking once for a new
 * token when a cached one is refused (401).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "oauth.h"

/*
 * wtkms_token_request --
 *     Send a token request and take the token from its answer; errors are worded for the
 *     credential (EAGAIN when the token service fails, EACCES when it refuses).
 */
int
wtkms_token_request(
  const wtkms_token_src *src, const wtkms_http_req *req, wtkms_token *t, wtkms_err *err)
{
    wtkms_http_resp resp;
    bson_t doc;
    const char *desc;
    char text[300];
    uint32_t len;
    int ret;

    bson_init(&doc);
    if ((ret = wtkms_http_request(src->opts, req, &resp, err)) != 0) {
        wtkms_err_prefix(err, "%s: cannot get a token for %s", src->provider, src->cred_desc);
        goto done;
    }
    bson_destroy(&doc);
    if (wtkms_json_parse(resp.body, resp.body_len, &doc) != 0 && resp.status == 200) {
        wtkms_http_body_excerpt(&resp, text, sizeof(text));
        ret = wtkms_errf(err, EPROTO, "%s for %s: HTTP %ld with a body that is not JSON (%s)",
          req->what, src->cred_desc, resp.status, text);
        goto done;
    }
    if (resp.status != 200) {
        /* OAuth: {"error": "invalid_client", "error_description": "AADSTS7000215: ..."}. */
        if ((desc = wtkms_json_str(&doc, "error_description", &len)) == NULL &&
            (desc = wtkms_json_str(&doc, "error", &len)) == NULL)
            desc = wtkms_json_str(&doc, "message", &len);
        wtkms_printable(desc, desc != NULL ? len : 0, text, sizeof(text));
        if (resp.status >= 500 || resp.status == 429) {
            ret = wtkms_errf(err, EAGAIN,
              "%s for %s: the token service%s%s failed after %d attempt%s (HTTP %ld%s%s): it is "
              "unavailable, not refusing the credential; retry later",
              req->what, src->cred_desc, src->service != NULL ? " at " : "",
              src->service != NULL ? src->service : "", resp.attempts,
              resp.attempts == 1 ? "" : "s", resp.status, text[0] != '\0' ? ": " : "", text);
            goto done;
        }
        ret = wtkms_errf(err, EACCES, "%s for %s was refused (HTTP %ld%s%s): %s", req->what,
          src->cred_desc, resp.status, text[0] != '\0' ? ": " : "", text, src->refused_hint);
        goto done;
    }
    ret = wtkms_token_from_json(&doc, t, req->what, err);
done:
    wtkms_bson_wipe(&doc);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * wtkms_bearer_call --
 *     One request with the cached token (fetching one when there is none fresh; a 401 on a
 *     cached token fetches a new one and tries once more). Returns 0 when the service answered
 *     JSON, or anything but 200: *doc holds the answer (empty when it is not JSON), *statusp and
 *     *attemptsp say how it answered. The answer may be 256 KiB at most.
 */
int
wtkms_bearer_call(const wtkms_bearer *b, const char *what, const char *method, const char *url,
  const char *body, size_t body_len, bson_t *doc, long *statusp, int *attemptsp, wtkms_err *err)
{
    wtkms_http_req req;
    wtkms_http_resp resp;
    int ret, tries;
    bool cached;

    memset(&req, 0, sizeof(req));
    req.what = what;
    req.setting = b->setting;
    req.method = method;
    req.url = url;
    req.headers = b->headers;
    req.body = body;
    req.body_len = body_len;
    req.max_body = 256 * 1024;
    *statusp = 0;
    *attemptsp = 0;
    bson_init(doc);
    for (tries = 0;; tries++) {
        cached = wtkms_token_fresh(b->token);
        if (!cached && (ret = b->fetch(b->fetch_arg, err)) != 0)
            return (ret);
        req.bearer = b->token->value;
        if ((ret = wtkms_http_request(b->opts, &req, &resp, err)) != 0)
            return (wtkms_err_prefix(err, "%s of %s", what, b->label));
        if (resp.status == 401 && cached && tries == 0) {
            /* Revoked or expired early: one fresh token, one more try. */
            wtkms_http_resp_free(&resp);
            wtkms_token_clear(b->token);
            continue;
        }
        break;
    }
    bson_destroy(doc);
    if (wtkms_json_parse(resp.body, resp.body_len, doc) != 0 && resp.status == 200) {
        ret = wtkms_errf(err, EPROTO,
          "%s of %s: %s answered HTTP %ld with a body that is not JSON: check %.*s", what, b->label,
          b->where, resp.status, (int)strcspn(b->setting, "="), b->setting);
        wtkms_http_resp_free(&resp);
        return (ret);
    }
    *statusp = resp.status;
    *attemptsp = resp.attempts;
    wtkms_http_resp_free(&resp);
    return (0);
}
