/* SPDX-License-Identifier: Apache-2.0 */
/*
 * b64.c -- base64 and base64url through EVP_EncodeBlock and EVP_DecodeBlock (b64.h). OpenSSL
 * speaks only padded standard base64 and skips white space: the URL alphabet, optional padding
 * and the strict checks are done here around it.
 */
#include "b64.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "secure.h"

/*
 * b64_value --
 *     The 6-bit value of a base64 or base64url character, or -1.
 */
static int
b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (c - 'A');
    if (c >= 'a' && c <= 'z')
        return (c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (c - '0' + 52);
    if (c == '+' || c == '-')
        return (62);
    if (c == '/' || c == '_')
        return (63);
    return (-1);
}

/*
 * wtkms_b64_encode --
 *     Standard padded base64, or base64url without padding.
 */
int
wtkms_b64_encode(const uint8_t *in, size_t len, bool url, char *out, size_t outlen)
{
    size_t i, n;

    if (len > INT_MAX / 4 * 3 - 3 || outlen < WTKMS_B64_LEN(len))
        return (EMSGSIZE);
    n = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    if (url) {
        while (n > 0 && out[n - 1] == '=')
            out[--n] = '\0';
        for (i = 0; i < n; i++)
            if (out[i] == '+')
                out[i] = '-';
            else if (out[i] == '/')
                out[i] = '_';
    }
    return (0);
}

/*
 * wtkms_b64_decode --
 *     Decode either alphabet, padded or not.
 */
int
wtkms_b64_decode(const char *in, size_t len, uint8_t *out, size_t outlen, size_t *lenp)
{
    uint8_t *bytes;
    char *text;
    size_t i, n, padded, dlen;
    int v, ret;

    *lenp = 0;
    /* Up to two '=' at the end, and only where padding belongs. */
    n = len;
    while (n > 0 && len - n < 2 && in[n - 1] == '=')
        n--;
    if (n != len && len % 4 != 0)
        return (EINVAL);
    if (n % 4 == 1)
        return (EINVAL);
    dlen = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (dlen > outlen)
        return (EMSGSIZE);
    if (n == 0)
        return (0);
    if (n > INT_MAX - 3)
        return (EMSGSIZE);
    for (i = 0, v = 0; i < n; i++)
        if ((v = b64_value(in[i])) < 0)
            return (EINVAL);
    /* Leftover bits of the last character must be zero, or two encodings decode the same. */
    if ((n % 4 == 2 && (v & 0xf) != 0) || (n % 4 == 3 && (v & 0x3) != 0))
        return (EINVAL);

    /* OpenSSL's form: the standard alphabet, padded to whole quanta. */
    padded = (n + 3) / 4 * 4;
    text = malloc(padded);
    bytes = malloc(padded / 4 * 3);
    ret = ENOMEM;
    if (text != NULL && bytes != NULL) {
        for (i = 0; i < padded; i++)
            text[i] = i >= n ? '=' : in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
        if (EVP_DecodeBlock(bytes, (const unsigned char *)text, (int)padded) !=
            (int)(padded / 4 * 3))
            ret = EINVAL;
        else {
            memcpy(out, bytes, dlen);
            *lenp = dlen;
            ret = 0;
        }
    }
    if (text != NULL) {
        wtkms_wipe(text, padded);
        free(text);
    }
    if (bytes != NULL) {
        wtkms_wipe(bytes, padded / 4 * 3);
        free(bytes);
    }
    return (ret);
}
