/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bytes.h -- fixed-width integers in and out of byte strings, big- and little-endian, for the
 * file formats and wire protocols (keystore headers and AAD, KMIP's TTLV, block headers).
 */
#ifndef WTKMS_BYTES_H
#define WTKMS_BYTES_H

#include <stdint.h>

/*
 * wtkms_put_be32 --
 *     Write v big-endian.
 */
static inline void
wtkms_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * wtkms_get_be32 --
 *     Read a big-endian value.
 */
static inline uint32_t
wtkms_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

/*
 * wtkms_put_be64 --
 *     Write v big-endian.
 */
static inline void
wtkms_put_be64(uint8_t *p, uint64_t v)
{
    wtkms_put_be32(p, (uint32_t)(v >> 32));
    wtkms_put_be32(p + 4, (uint32_t)v);
}

/*
 * wtkms_get_be64 --
 *     Read a big-endian value.
 */
static inline uint64_t
wtkms_get_be64(const uint8_t *p)
{
    return ((uint64_t)wtkms_get_be32(p) << 32 | wtkms_get_be32(p + 4));
}

/*
 * wtkms_put_le32 --
 *     Write v little-endian.
 */
static inline void
wtkms_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/*
 * wtkms_get_le32 --
 *     Read a little-endian value.
 */
static inline uint32_t
wtkms_get_le32(const uint8_t *p)
{
    return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

#endif
