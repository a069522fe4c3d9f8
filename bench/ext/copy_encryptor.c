/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy_encryptor.c -- a benchmark-only WiredTiger encryptor "copy" that does not encrypt: it
 * copies the bytes and adds the same 40-byte expansion as wtkms (a zeroed 24-byte header before,
 * a zeroed 16-byte "tag" after).
 *
 * It isolates what WiredTiger's encryption path costs by itself (scratch buffers, one more copy
 * per page and per journal record, the bigger blocks), so that bench/wt_bench can report what
 * the cipher adds on top. Built as bench/libcopy_encryptor.so of each line by bench/SConscript.
 * Never use it for data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <wiredtiger.h>
#include <wiredtiger_ext.h>

#define COPY_HDR 24
#define COPY_TAG 16

#define EXPORT __attribute__((visibility("default")))

EXPORT int wiredtiger_extension_init(WT_CONNECTION *connection, WT_CONFIG_ARG *config);

/*
 * copy_encrypt --
 *     Header, the bytes, tag: src_len + 40 bytes.
 */
static int
copy_encrypt(WT_ENCRYPTOR *encryptor, WT_SESSION *session, uint8_t *src, size_t src_len,
  uint8_t *dst, size_t dst_len, size_t *result_lenp)
{
    (void)encryptor;
    (void)session;
    if (dst_len < src_len + COPY_HDR + COPY_TAG)
        return (ENOMEM);
    memset(dst, 0, COPY_HDR);
    memcpy(dst + COPY_HDR, src, src_len);
    memset(dst + COPY_HDR + src_len, 0, COPY_TAG);
    *result_lenp = src_len + COPY_HDR + COPY_TAG;
    return (0);
}

/*
 * copy_decrypt --
 *     The bytes between header and tag.
 */
static int
copy_decrypt(WT_ENCRYPTOR *encryptor, WT_SESSION *session, uint8_t *src, size_t src_len,
  uint8_t *dst, size_t dst_len, size_t *result_lenp)
{
    size_t len;

    (void)encryptor;
    (void)session;
    if (src_len < COPY_HDR + COPY_TAG)
        return (EINVAL);
    len = src_len - COPY_HDR - COPY_TAG;
    if (dst_len < len)
        return (ENOMEM);
    memcpy(dst, src + COPY_HDR, len);
    *result_lenp = len;
    return (0);
}

/*
 * copy_sizing --
 *     The expansion wtkms has.
 */
static int
copy_sizing(WT_ENCRYPTOR *encryptor, WT_SESSION *session, size_t *expansion_constantp)
{
    (void)encryptor;
    (void)session;
    *expansion_constantp = COPY_HDR + COPY_TAG;
    return (0);
}

/*
 * copy_customize --
 *     One encryptor per keyid, as wtkms has, so the same configuration strings work.
 */
static int
copy_customize(WT_ENCRYPTOR *encryptor, WT_SESSION *session, WT_CONFIG_ARG *encrypt_config,
  WT_ENCRYPTOR **customp)
{
    WT_ENCRYPTOR *e;

    (void)session;
    (void)encrypt_config;
    if ((e = malloc(sizeof(*e))) == NULL)
        return (ENOMEM);
    *e = *encryptor;
    *customp = e;
    return (0);
}

/*
 * copy_terminate --
 *     Free an encryptor.
 */
static int
copy_terminate(WT_ENCRYPTOR *encryptor, WT_SESSION *session)
{
    (void)session;
    free(encryptor);
    return (0);
}

/*
 * wiredtiger_extension_init --
 *     Register "copy".
 */
int
wiredtiger_extension_init(WT_CONNECTION *connection, WT_CONFIG_ARG *config)
{
    WT_ENCRYPTOR *e;
    int ret;

    (void)config;
    if ((e = calloc(1, sizeof(*e))) == NULL)
        return (ENOMEM);
    e->encrypt = copy_encrypt;
    e->decrypt = copy_decrypt;
    e->sizing = copy_sizing;
    e->customize = copy_customize;
    e->terminate = copy_terminate;
    if ((ret = connection->add_encryptor(connection, "copy", e, NULL)) != 0)
        free(e);
    return (ret);
}
