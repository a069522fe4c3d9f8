/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_errors.h -- internal to the "aws" provider: what AWS KMS error answers mean (aws_errors.c).
 */
#ifndef WTKMS_AWS_ERRORS_H
#define WTKMS_AWS_ERRORS_H

#include "err.h"
#include "http.h"

/* The classifier of KMS answers (http.h): throttling exceptions retry, as 5xx and 429 do. */
int wtkms_aws_classify(const wtkms_http_resp *resp, void *arg);

/*
 * Word a non-2xx answer of op ("Encrypt", "Decrypt") for a DBA: name is the key for messages,
 * key_id as configured, url where the request went, source where the credentials came from.
 * Returns the errno kms.h documents for the failure.
 */
int wtkms_aws_http_error(const char *name, const char *key_id, const char *url, const char *op,
  const wtkms_http_resp *resp, const char *source, wtkms_err *err);

#endif
