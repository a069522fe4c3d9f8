/* SPDX-License-Identifier: Apache-2.0 */
/*
 * b64.h -- base64 and base64url, through OpenSSL's EVP encoder: the one place every provider
 * and key file encodes and decodes it.
 */
#ifndef WTKMS_B64_H
#define WTKMS_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Encoded length of len bytes (with the NUL): padded base64, or base64url without padding. */
#define WTKMS_B64_LEN(len) ((((len) + 2) / 3) * 4 + 1)

/* Encode: 0, or EMSGSIZE when out is too small (or the input too large for OpenSSL). */
int wtkms_b64_encode(const uint8_t *in, size_t len, bool url, char *out, size_t outlen);

/*
 * Decode base64 or base64url (padding optional, either alphabet accepted, no white space, and the
 * unused bits of the last character zero, so each byte string has one encoding): 0, EINVAL on a
 * character outside the alphabet or a bad length, EMSGSIZE when out is too small, ENOMEM.
 */
int wtkms_b64_decode(const char *in, size_t len, uint8_t *out, size_t outlen, size_t *lenp);

#endif
