/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_errors.c -- what an AWS KMS error answer means: which answers are worth a retry
 * (throttling is a 400 with a __type), and the words and errno for each failure a DBA can meet.
 * Errors branch on the answer's __type (JSON) or Code (XML), never on the HTTP status alone.
 */
#define _GNU_SOURCE /* strcasestr */
#include "aws_errors.h"

#include <bson/bson.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * aws_error_type --
 *     The error's type from __type ("com.amazonaws.kms#DisabledException" -> "Disabled...").
 */
static void
aws_error_type(const bson_t *doc, char *type, size_t typelen, char *msg, size_t msglen)
{
    bson_iter_t it;
    const char *s, *h;

    type[0] = msg[0] = '\0';
    if (doc == NULL)
        return;
    if (bson_iter_init_find(&it, doc, "__type") && BSON_ITER_HOLDS_UTF8(&it)) {
        s = bson_iter_utf8(&it, NULL);
        if ((h = strrchr(s, '#')) != NULL)
            s = h + 1;
        (void)snprintf(type, typelen, "%s", s);
    }
    if ((bson_iter_init_find(&it, doc, "message") || bson_iter_init_find(&it, doc, "Message")) &&
        BSON_ITER_HOLDS_UTF8(&it))
        (void)snprintf(msg, msglen, "%s", bson_iter_utf8(&it, NULL));
}

/*
 * aws_xml_code --
 *     <Code>...</Code> of an XML error: signature checks in front of some endpoints (and
 *     emulators) answer in the query protocol's XML even for JSON services.
 */
static void
aws_xml_code(const char *body, char *type, size_t typelen)
{
    const char *s, *e;

    if ((s = strstr(body, "<Code>")) == NULL || (e = strstr(s + 6, "</Code>")) == NULL)
        return;
    s += 6;
    if ((size_t)(e - s) < typelen && strcspn(s, "<>&\"") == (size_t)(e - s))
        (void)snprintf(type, typelen, "%.*s", (int)(e - s), s);
}

/*
 * aws_is_throttle --
 *     The throttling error types the AWS SDKs retry.
 */
static bool
aws_is_throttle(const char *type)
{
    static const char *const t[] = { "ThrottlingException", "Throttling", "ThrottledException",
        "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", NULL };
    int i;

    for (i = 0; t[i] != NULL; i++)
        if (strcmp(type, t[i]) == 0)
            return (true);
    return (false);
}

/*
 * wtkms_aws_classify --
 *     Retry throttling (HTTP 400 with a throttling __type), KMSInternalException, 429 and 5xx.
 */
int
wtkms_aws_classify(const wtkms_http_resp *resp, void *arg)
{
    bson_error_t berr;
    bson_t *doc;
    char type[128], msg[8];
    int r;

    if (resp->status >= 400 && resp->status < 500 && resp->status != 408 && resp->status != 429 &&
        resp->body_len > 0) {
        if ((doc = bson_new_from_json(
               (const uint8_t *)resp->body, (ssize_t)resp->body_len, &berr)) == NULL)
            return (WTKMS_HTTP_FINAL);
        aws_error_type(doc, type, sizeof(type), msg, sizeof(msg));
        bson_destroy(doc);
        r = aws_is_throttle(type) ? WTKMS_HTTP_RETRY : WTKMS_HTTP_FINAL;
        return (r);
    }
    return (wtkms_http_classify_default(resp, arg));
}

/*
 * wtkms_aws_http_error --
 *     Word a non-2xx answer for a DBA: by __type, then by status.
 */
int
wtkms_aws_http_error(const char *name, const char *key_id, const char *url, const char *op,
  const wtkms_http_resp *resp, const char *source, wtkms_err *err)
{
    bson_error_t berr;
    bson_t *doc;
    char type[128], msg[400], host[300], quoted[120];
    int ret;

    wtkms_http_url_host(url, host, sizeof(host));
    doc = resp->body_len > 0
            ? bson_new_from_json((const uint8_t *)resp->body, (ssize_t)resp->body_len, &berr)
            : NULL;
    aws_error_type(doc, type, sizeof(type), msg, sizeof(msg));
    if (doc != NULL)
        bson_destroy(doc);
    else if (resp->body_len > 0 && resp->body[0] == '<')
        aws_xml_code(resp->body, type, sizeof(type));

    if (strcmp(type, "DisabledException") == 0)
        ret = wtkms_errf(err, EKEYREVOKED,
          "%s is disabled: enable it (aws kms enable-key --key-id %s), then retry", name, key_id);
    else if (strcmp(type, "KMSInvalidStateException") == 0 &&
             (strcasestr(msg, "pending deletion") != NULL ||
               strstr(msg, "PendingDeletion") != NULL))
        ret = wtkms_errf(err, EKEYEXPIRED,
          "%s is pending deletion: cancel the deletion (aws kms cancel-key-deletion --key-id %s) "
          "and enable the key, then retry; once deleted, data under it cannot be recovered",
          name, key_id);
    else if (strcmp(type, "KMSInvalidStateException") == 0)
        ret = wtkms_errf(err, EKEYREVOKED,
          "%s is in a state that does not allow %s (%s): make the key Enabled, then retry", name,
          op, msg[0] ? msg : "KMSInvalidStateException");
    else if (strcmp(type, "NotFoundException") == 0)
        ret = wtkms_errf(err, ENOKEY,
          "%s does not exist in this account and region: check key_id= and region=; if the key "
          "was deleted, data under it cannot be recovered",
          name);
    else if (strcmp(type, "AccessDeniedException") == 0 || strcmp(type, "AccessDenied") == 0)
        ret = wtkms_errf(err, EACCES,
          "%s: access denied to the credentials from %s (%s): the key policy or IAM policy must "
          "allow kms:%s",
          name, source, msg[0] ? msg : "AccessDeniedException", op);
    else if (strcmp(type, "UnrecognizedClientException") == 0 ||
             strcmp(type, "InvalidClientTokenId") == 0 ||
             strcmp(type, "ExpiredTokenException") == 0 ||
             strcmp(type, "InvalidSignatureException") == 0 ||
             strcmp(type, "IncompleteSignature") == 0 ||
             strcmp(type, "MissingAuthenticationTokenException") == 0 ||
             strcmp(type, "SignatureDoesNotMatch") == 0 || strcmp(type, "AuthFailure") == 0)
        ret = wtkms_errf(err, EACCES,
          "%s: AWS rejected the credentials from %s (%s): check that the access key is active "
          "and the secret belongs to it (and the session token, if any, has not expired)",
          name, source, type);
    else if (strcmp(type, "InvalidCiphertextException") == 0 ||
             strcmp(type, "IncorrectKeyException") == 0)
        ret = wtkms_errf(err, EKEYREJECTED,
          "%s cannot decrypt this wrapped key (%s): it was wrapped under another key (an alias "
          "that now names another key?) or altered; configure the key it was made under",
          name, type);
    else if (aws_is_throttle(type) || resp->status == 429)
        ret = wtkms_errf(err, EAGAIN,
          "%s: AWS KMS at %s throttled %s %d attempt%s (%s): retry later, or raise the KMS "
          "request quota",
          name, host, resp->attempts == 1 ? "its" : "all", resp->attempts,
          resp->attempts == 1 ? "" : "s", type[0] ? type : "HTTP 429");
    else if (resp->status >= 500)
        ret = wtkms_errf(err, EAGAIN,
          "%s: AWS KMS at %s failed with HTTP %ld%s%s after %d attempt%s: the service is "
          "unavailable; retry later",
          name, host, resp->status, type[0] ? " " : "", type, resp->attempts,
          resp->attempts == 1 ? "" : "s");
    else if (type[0] != '\0')
        ret = wtkms_errf(err, EPROTO, "%s: AWS KMS %s failed: %s%s%.200s", name, op, type,
          msg[0] ? ": " : "", msg);
    else {
        wtkms_http_body_excerpt(resp, quoted, sizeof(quoted));
        ret = wtkms_errf(err, EPROTO,
          "%s: AWS KMS at %s answered HTTP %ld that is not a KMS error (%s): check endpoint= and "
          "proxy=",
          name, host, resp->status, quoted);
    }
    return (ret);
}
