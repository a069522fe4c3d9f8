/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_kmip_ttlv.c -- a KMIP server's answer: the TTLV parser and every accessor kmip.c applies
 * to a response (result lookup by batch id, the State attribute, the Encrypt/Decrypt payload
 * fields, the names used in messages), plus the wire-length check of the first 8 bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kmip_ttlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * touch --
 *     Read every byte of a value the parser handed out (ASan checks it lies in the input).
 */
static unsigned
touch(const uint8_t *p, size_t len)
{
    unsigned sum = 0;
    size_t i;

    for (i = 0; i < len; i++)
        sum += p[i];
    return (sum);
}

/*
 * payload_fields --
 *     What kmip_wrap and kmip_unwrap take from a payload.
 */
static unsigned
payload_fields(const wtkms_ttlv *payload)
{
    static const uint32_t tags[] = { WTKMS_KMIP_TAG_DATA, WTKMS_KMIP_TAG_IV_COUNTER_NONCE,
        WTKMS_KMIP_TAG_AE_TAG, WTKMS_KMIP_TAG_UNIQUE_IDENTIFIER };
    const uint8_t *p;
    wtkms_ttlv child;
    uint32_t state, e;
    int32_t v;
    unsigned sum = 0;
    size_t i, len;
    int nth;

    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        if (wtkms_ttlv_child_bytes(payload, tags[i], WTKMS_TTLV_BYTE_STRING, &p, &len) == 0)
            sum += touch(p, len);
        if (wtkms_ttlv_child_bytes(payload, tags[i], WTKMS_TTLV_TEXT_STRING, &p, &len) == 0)
            sum += touch(p, len);
    }
    if (wtkms_kmip_payload_state(payload, &state) == 0)
        sum += (unsigned)strlen(wtkms_kmip_state_name(state));
    for (nth = 0; wtkms_ttlv_child(payload, WTKMS_KMIP_TAG_ATTRIBUTE, nth, &child) == 0; nth++) {
        sum += touch(child.value, child.len);
        if (wtkms_ttlv_child_enum(&child, WTKMS_KMIP_TAG_ATTRIBUTE_VALUE, &e) == 0)
            sum += e;
        if (wtkms_ttlv_child_int(&child, WTKMS_KMIP_TAG_ATTRIBUTE_VALUE, &v) == 0)
            sum += (unsigned)v;
    }
    return (sum);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One response message.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_kmip_response resp;
    const wtkms_kmip_result *r;
    const char *why;
    wtkms_ttlv item;
    volatile unsigned sink = 0;
    int i, id;

    if (size >= WTKMS_TTLV_HEADER_LEN)
        sink += (unsigned)wtkms_ttlv_message_len(data, 64 * 1024);
    if (wtkms_ttlv_parse(data, size, &item) == 0)
        sink += touch(item.value, item.len);
    if (wtkms_kmip_parse_response(data, size, &resp, &why) != 0) {
        sink += (unsigned)strlen(why);
        return (0);
    }
    for (i = 0; i < resp.nresults; i++) {
        r = &resp.results[i];
        sink += (unsigned)strlen(wtkms_kmip_reason_name(r->reason));
        if (r->message != NULL)
            sink += touch((const uint8_t *)r->message, r->message_len);
        if (r->has_payload)
            sink += payload_fields(&r->payload);
    }
    for (id = 0; id <= WTKMS_KMIP_MAX_BATCH + 1; id++)
        if ((r = wtkms_kmip_result_for(&resp, id)) != NULL && r->has_payload)
            sink += touch(r->payload.value, r->payload.len);
    (void)sink;
    return (0);
}
