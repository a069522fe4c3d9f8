/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kmip_ttlv.c -- KMIP TTLV: encode wtkms's requests, parse and validate responses. No I/O.
 */
#include "kmip_ttlv.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

/*
 * put_header --
 *     Write an item header at buf.
 */
static void
put_header(uint8_t *buf, uint32_t tag, uint8_t type, uint32_t len)
{
    buf[0] = (uint8_t)(tag >> 16);
    buf[1] = (uint8_t)(tag >> 8);
    buf[2] = (uint8_t)tag;
    buf[3] = type;
    wtkms_put_be32(buf + 4, len);
}

/*
 * padded --
 *     A value length rounded up to the 8-byte boundary (as size_t: no 32-bit overflow).
 */
static size_t
padded(size_t len)
{
    return ((len + 7) & ~(size_t)7);
}

/*
 * wtkms_ttlv_enc_init --
 *     Start encoding into a fixed buffer.
 */
void
wtkms_ttlv_enc_init(wtkms_ttlv_enc *e, uint8_t *buf, size_t cap)
{
    memset(e, 0, sizeof(*e));
    e->buf = buf;
    e->cap = cap;
}

/*
 * enc_item --
 *     Append one primitive item: header, value, zero padding.
 */
static void
enc_item(wtkms_ttlv_enc *e, uint32_t tag, uint8_t type, const void *value, size_t len)
{
    size_t total;

    if (e->failed)
        return;
    total = WTKMS_TTLV_HEADER_LEN + padded(len);
    if (len > UINT32_MAX || total > e->cap - e->len) {
        e->failed = e->overflow = true;
        return;
    }
    put_header(e->buf + e->len, tag, type, (uint32_t)len);
    if (len > 0)
        memcpy(e->buf + e->len + WTKMS_TTLV_HEADER_LEN, value, len);
    memset(e->buf + e->len + WTKMS_TTLV_HEADER_LEN + len, 0, padded(len) - len);
    e->len += total;
}

/*
 * wtkms_ttlv_begin --
 *     Open a structure; its length is filled in by wtkms_ttlv_end.
 */
void
wtkms_ttlv_begin(wtkms_ttlv_enc *e, uint32_t tag)
{
    if (e->failed)
        return;
    if (e->depth >= WTKMS_TTLV_MAX_DEPTH) {
        e->failed = true;
        return;
    }
    if (WTKMS_TTLV_HEADER_LEN > e->cap - e->len) {
        e->failed = e->overflow = true;
        return;
    }
    put_header(e->buf + e->len, tag, WTKMS_TTLV_STRUCTURE, 0);
    e->open[e->depth++] = e->len;
    e->len += WTKMS_TTLV_HEADER_LEN;
}

/*
 * wtkms_ttlv_end --
 *     Close the innermost structure.
 */
void
wtkms_ttlv_end(wtkms_ttlv_enc *e)
{
    size_t start, len;
    uint8_t *h;

    if (e->failed)
        return;
    if (e->depth == 0) {
        e->failed = true;
        return;
    }
    start = e->open[--e->depth];
    len = e->len - start - WTKMS_TTLV_HEADER_LEN;
    h = e->buf + start;
    wtkms_put_be32(h + 4, (uint32_t)len);
}

/*
 * wtkms_ttlv_int --
 *     An Integer.
 */
void
wtkms_ttlv_int(wtkms_ttlv_enc *e, uint32_t tag, int32_t v)
{
    uint8_t b[4];

    wtkms_put_be32(b, (uint32_t)v);
    enc_item(e, tag, WTKMS_TTLV_INTEGER, b, 4);
}

/*
 * wtkms_ttlv_enum --
 *     An Enumeration.
 */
void
wtkms_ttlv_enum(wtkms_ttlv_enc *e, uint32_t tag, uint32_t v)
{
    uint8_t b[4];

    wtkms_put_be32(b, v);
    enc_item(e, tag, WTKMS_TTLV_ENUMERATION, b, 4);
}

/*
 * wtkms_ttlv_text --
 *     A Text String (UTF-8, not NUL-terminated on the wire).
 */
void
wtkms_ttlv_text(wtkms_ttlv_enc *e, uint32_t tag, const char *s, size_t len)
{
    enc_item(e, tag, WTKMS_TTLV_TEXT_STRING, s, len);
}

/*
 * wtkms_ttlv_bytes --
 *     A Byte String.
 */
void
wtkms_ttlv_bytes(wtkms_ttlv_enc *e, uint32_t tag, const void *p, size_t len)
{
    enc_item(e, tag, WTKMS_TTLV_BYTE_STRING, p, len);
}

/*
 * wtkms_ttlv_enc_done --
 *     The encoded length, or why there is none.
 */
int
wtkms_ttlv_enc_done(wtkms_ttlv_enc *e, size_t *lenp)
{
    *lenp = 0;
    if (e->failed)
        return (e->overflow ? EMSGSIZE : EINVAL);
    if (e->depth != 0)
        return (EINVAL);
    *lenp = e->len;
    return (0);
}

/*
 * parse_item --
 *     Validate the item at buf[0..avail) and, for a structure, everything inside it. *sizep is
 *     the item's padded size.
 */
static int
parse_item(const uint8_t *buf, size_t avail, int depth, wtkms_ttlv *item, size_t *sizep)
{
    wtkms_ttlv child;
    size_t off, csize, i, vlen;
    int ret;

    if (avail < WTKMS_TTLV_HEADER_LEN)
        return (EBADMSG);
    item->tag = (uint32_t)buf[0] << 16 | (uint32_t)buf[1] << 8 | (uint32_t)buf[2];
    item->type = buf[3];
    item->len = wtkms_get_be32(buf + 4);
    item->value = buf + WTKMS_TTLV_HEADER_LEN;
    vlen = item->len;
    if (padded(vlen) > avail - WTKMS_TTLV_HEADER_LEN)
        return (EBADMSG);
    switch (item->type) {
    case WTKMS_TTLV_INTEGER:
    case WTKMS_TTLV_ENUMERATION:
    case WTKMS_TTLV_INTERVAL:
        if (vlen != 4)
            return (EBADMSG);
        break;
    case WTKMS_TTLV_LONG_INTEGER:
    case WTKMS_TTLV_BOOLEAN:
    case WTKMS_TTLV_DATE_TIME:
        if (vlen != 8)
            return (EBADMSG);
        break;
    case WTKMS_TTLV_BIG_INTEGER:
        if (vlen % 8 != 0)
            return (EBADMSG);
        break;
    case WTKMS_TTLV_TEXT_STRING:
    case WTKMS_TTLV_BYTE_STRING:
        break;
    case WTKMS_TTLV_STRUCTURE:
        if (vlen % 8 != 0 || depth >= WTKMS_TTLV_MAX_DEPTH)
            return (EBADMSG);
        for (off = 0; off < vlen; off += csize)
            if ((ret = parse_item(item->value + off, vlen - off, depth + 1, &child, &csize)) != 0)
                return (ret);
        break;
    default:
        return (EBADMSG);
    }
    /* Padding is zeros (spec 9.1.1.3): anything else is a framing error. */
    for (i = vlen; i < padded(vlen); i++)
        if (item->value[i] != 0)
            return (EBADMSG);
    *sizep = WTKMS_TTLV_HEADER_LEN + padded(vlen);
    return (0);
}

/*
 * wtkms_ttlv_parse --
 *     Validate a whole message.
 */
int
wtkms_ttlv_parse(const uint8_t *buf, size_t len, wtkms_ttlv *item)
{
    size_t size;
    int ret;

    if (buf == NULL)
        return (EBADMSG);
    if ((ret = parse_item(buf, len, 1, item, &size)) != 0)
        return (ret);
    return (size == len ? 0 : EBADMSG);
}

/*
 * wtkms_ttlv_message_len --
 *     The size of a message from its header.
 */
size_t
wtkms_ttlv_message_len(const uint8_t hdr[WTKMS_TTLV_HEADER_LEN], size_t max)
{
    size_t len;

    if (hdr[3] != WTKMS_TTLV_STRUCTURE)
        return (0);
    len = wtkms_get_be32(hdr + 4);
    if (len % 8 != 0 || len > max || WTKMS_TTLV_HEADER_LEN + len > max)
        return (0);
    return (WTKMS_TTLV_HEADER_LEN + len);
}

/*
 * wtkms_ttlv_child --
 *     The nth child with a tag. The parent was validated by wtkms_ttlv_parse, but the walk still
 *     checks every bound: a caller's mistake must not become a read past the buffer.
 */
int
wtkms_ttlv_child(const wtkms_ttlv *parent, uint32_t tag, int nth, wtkms_ttlv *out)
{
    size_t off, size, avail;
    const uint8_t *p;

    if (parent->type != WTKMS_TTLV_STRUCTURE)
        return (ENOENT);
    for (off = 0; off + WTKMS_TTLV_HEADER_LEN <= parent->len; off += size) {
        p = parent->value + off;
        avail = parent->len - off - WTKMS_TTLV_HEADER_LEN;
        out->tag = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | (uint32_t)p[2];
        out->type = p[3];
        out->len = wtkms_get_be32(p + 4);
        out->value = p + WTKMS_TTLV_HEADER_LEN;
        if (padded(out->len) > avail)
            return (ENOENT);
        size = WTKMS_TTLV_HEADER_LEN + padded(out->len);
        if (out->tag == tag && nth-- == 0)
            return (0);
    }
    return (ENOENT);
}

/*
 * wtkms_ttlv_child_enum --
 *     An Enumeration child.
 */
int
wtkms_ttlv_child_enum(const wtkms_ttlv *parent, uint32_t tag, uint32_t *v)
{
    wtkms_ttlv c;

    if (wtkms_ttlv_child(parent, tag, 0, &c) != 0)
        return (ENOENT);
    if (c.type != WTKMS_TTLV_ENUMERATION || c.len != 4)
        return (EBADMSG);
    *v = wtkms_get_be32(c.value);
    return (0);
}

/*
 * wtkms_ttlv_child_int --
 *     An Integer child.
 */
int
wtkms_ttlv_child_int(const wtkms_ttlv *parent, uint32_t tag, int32_t *v)
{
    wtkms_ttlv c;

    if (wtkms_ttlv_child(parent, tag, 0, &c) != 0)
        return (ENOENT);
    if (c.type != WTKMS_TTLV_INTEGER || c.len != 4)
        return (EBADMSG);
    *v = (int32_t)wtkms_get_be32(c.value);
    return (0);
}

/*
 * wtkms_ttlv_child_bytes --
 *     A Text or Byte String child.
 */
int
wtkms_ttlv_child_bytes(
  const wtkms_ttlv *parent, uint32_t tag, uint8_t type, const uint8_t **p, size_t *len)
{
    wtkms_ttlv c;

    if (wtkms_ttlv_child(parent, tag, 0, &c) != 0)
        return (ENOENT);
    if (c.type != type)
        return (EBADMSG);
    *p = c.value;
    *len = c.len;
    return (0);
}

/*
 * wtkms_kmip_build_request --
 *     A KMIP 1.4 request message with one batch item per operation.
 */
int
wtkms_kmip_build_request(uint8_t *buf, size_t cap, const wtkms_kmip_op *ops, int nops, size_t *lenp)
{
    wtkms_ttlv_enc e;
    const wtkms_kmip_op *op;
    uint8_t id;
    int i;

    *lenp = 0;
    if (nops < 1 || nops > WTKMS_KMIP_MAX_BATCH)
        return (EINVAL);
    wtkms_ttlv_enc_init(&e, buf, cap);
    wtkms_ttlv_begin(&e, WTKMS_KMIP_TAG_REQUEST_MESSAGE);
    wtkms_ttlv_begin(&e, WTKMS_KMIP_TAG_REQUEST_HEADER);
    wtkms_ttlv_begin(&e, WTKMS_KMIP_TAG_PROTOCOL_VERSION);
    wtkms_ttlv_int(&e, WTKMS_KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
    wtkms_ttlv_int(&e, WTKMS_KMIP_TAG_PROTOCOL_VERSION_MINOR, 4);
    wtkms_ttlv_end(&e);
    wtkms_ttlv_int(&e, WTKMS_KMIP_TAG_BATCH_COUNT, nops);
    wtkms_ttlv_end(&e);
    for (i = 0; i < nops; i++) {
        op = &ops[i];
        if (op->uid == NULL || strlen(op->uid) == 0 || strlen(op->uid) > WTKMS_KMIP_MAX_UID)
            return (EINVAL);
        id = (uint8_t)(i + 1);
        wtkms_ttlv_begin(&e, WTKMS_KMIP_TAG_BATCH_ITEM);
        wtkms_ttlv_enum(&e, WTKMS_KMIP_TAG_OPERATION, op->operation);
        /* Ids are required when a message carries more than one item; always sending them
         * lets every answer be matched to its question. */
        wtkms_ttlv_bytes(&e, WTKMS_KMIP_TAG_UNIQUE_BATCH_ITEM_ID, &id, 1);
        wtkms_ttlv_begin(&e, WTKMS_KMIP_TAG_REQUEST_PAYLOAD);
        wtkms_ttlv_text(&e, WTKMS_KMIP_TAG_UNIQUE_IDENTIFIER, op->uid, strlen(op->uid));
        switch (op->operation) {
        case WTKMS_KMIP_OP_GET_ATTRIBUTES:
            wtkms_ttlv_text(&e, WTKMS_KMIP_TAG_ATTRIBUTE_NAME, "State", 5);
            break;
        case WTKMS_KMIP_OP_ENCRYPT:
        case WTKMS_KMIP_OP_DECRYPT:
            /* Field order is the spec's (KMIP 1.4, 4.29 and 4.30): servers read in order. */
            wtkms_ttlv_begin(&e, WTKMS_KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
            wtkms_ttlv_enum(&e, WTKMS_KMIP_TAG_BLOCK_CIPHER_MODE, WTKMS_KMIP_MODE_GCM);
            wtkms_ttlv_enum(&e, WTKMS_KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, WTKMS_KMIP_ALG_AES);
            wtkms_ttlv_int(&e, WTKMS_KMIP_TAG_TAG_LENGTH, 16);
            wtkms_ttlv_end(&e);
            wtkms_ttlv_bytes(&e, WTKMS_KMIP_TAG_DATA, op->data, op->data_len);
            wtkms_ttlv_bytes(&e, WTKMS_KMIP_TAG_IV_COUNTER_NONCE, op->iv, op->iv_len);
            if (op->aad_len > 0)
                wtkms_ttlv_bytes(&e, WTKMS_KMIP_TAG_AE_ADDITIONAL_DATA, op->aad, op->aad_len);
            if (op->operation == WTKMS_KMIP_OP_DECRYPT)
                wtkms_ttlv_bytes(&e, WTKMS_KMIP_TAG_AE_TAG, op->tag, op->tag_len);
            break;
        default:
            return (EINVAL);
        }
        wtkms_ttlv_end(&e);
        wtkms_ttlv_end(&e);
    }
    wtkms_ttlv_end(&e);
    return (wtkms_ttlv_enc_done(&e, lenp));
}

/*
 * parse_batch_item --
 *     One response batch item.
 */
static int
parse_batch_item(const wtkms_ttlv *bi, wtkms_kmip_result *r, const char **why)
{
    const uint8_t *p;
    size_t len;
    int ret;

    memset(r, 0, sizeof(*r));
    if ((ret = wtkms_ttlv_child_enum(bi, WTKMS_KMIP_TAG_OPERATION, &r->operation)) == EBADMSG) {
        *why = "a batch item's Operation is not an enumeration";
        return (EBADMSG);
    }
    if ((ret = wtkms_ttlv_child_bytes(
           bi, WTKMS_KMIP_TAG_UNIQUE_BATCH_ITEM_ID, WTKMS_TTLV_BYTE_STRING, &p, &len)) == 0) {
        if (len != 1 || p[0] < 1 || p[0] > WTKMS_KMIP_MAX_BATCH) {
            *why = "a batch item id is not one wtkms sent";
            return (EBADMSG);
        }
        r->batch_id = p[0];
    } else if (ret == EBADMSG) {
        *why = "a batch item id is not a byte string";
        return (EBADMSG);
    }
    if (wtkms_ttlv_child_enum(bi, WTKMS_KMIP_TAG_RESULT_STATUS, &r->status) != 0) {
        *why = "a batch item has no Result Status";
        return (EBADMSG);
    }
    if (wtkms_ttlv_child_enum(bi, WTKMS_KMIP_TAG_RESULT_REASON, &r->reason) == EBADMSG) {
        *why = "a Result Reason is not an enumeration";
        return (EBADMSG);
    }
    if ((ret = wtkms_ttlv_child_bytes(
           bi, WTKMS_KMIP_TAG_RESULT_MESSAGE, WTKMS_TTLV_TEXT_STRING, &p, &len)) == 0) {
        r->message = (const char *)p;
        r->message_len = len;
    } else if (ret == EBADMSG) {
        *why = "a Result Message is not text";
        return (EBADMSG);
    }
    if (wtkms_ttlv_child(bi, WTKMS_KMIP_TAG_RESPONSE_PAYLOAD, 0, &r->payload) == 0) {
        if (r->payload.type != WTKMS_TTLV_STRUCTURE) {
            *why = "a Response Payload is not a structure";
            return (EBADMSG);
        }
        r->has_payload = true;
    }
    return (0);
}

/*
 * wtkms_kmip_parse_response --
 *     A response message: header and batch items.
 */
int
wtkms_kmip_parse_response(
  const uint8_t *buf, size_t len, wtkms_kmip_response *resp, const char **why)
{
    wtkms_ttlv msg, hdr, pv, bi;
    int32_t count, v;
    int i, j;

    memset(resp, 0, sizeof(*resp));
    *why = "";
    if (wtkms_ttlv_parse(buf, len, &msg) != 0) {
        *why = "the answer is not well-formed TTLV";
        return (EBADMSG);
    }
    if (msg.tag != WTKMS_KMIP_TAG_RESPONSE_MESSAGE || msg.type != WTKMS_TTLV_STRUCTURE) {
        *why = "the answer is not a KMIP response message";
        return (EBADMSG);
    }
    if (wtkms_ttlv_child(&msg, WTKMS_KMIP_TAG_RESPONSE_HEADER, 0, &hdr) != 0 ||
        hdr.type != WTKMS_TTLV_STRUCTURE) {
        *why = "the response has no header";
        return (EBADMSG);
    }
    if (wtkms_ttlv_child(&hdr, WTKMS_KMIP_TAG_PROTOCOL_VERSION, 0, &pv) != 0 ||
        pv.type != WTKMS_TTLV_STRUCTURE ||
        wtkms_ttlv_child_int(&pv, WTKMS_KMIP_TAG_PROTOCOL_VERSION_MAJOR, &v) != 0) {
        *why = "the response header has no protocol version";
        return (EBADMSG);
    }
    resp->major = v;
    if (wtkms_ttlv_child_int(&pv, WTKMS_KMIP_TAG_PROTOCOL_VERSION_MINOR, &v) != 0) {
        *why = "the response header has no protocol version";
        return (EBADMSG);
    }
    resp->minor = v;
    if (wtkms_ttlv_child_int(&hdr, WTKMS_KMIP_TAG_BATCH_COUNT, &count) != 0 || count < 1 ||
        count > WTKMS_KMIP_MAX_BATCH) {
        *why = "the response's batch count is missing or out of range";
        return (EBADMSG);
    }
    for (i = 0; i < count; i++) {
        if (wtkms_ttlv_child(&msg, WTKMS_KMIP_TAG_BATCH_ITEM, i, &bi) != 0 ||
            bi.type != WTKMS_TTLV_STRUCTURE) {
            *why = "the response has fewer batch items than its count";
            return (EBADMSG);
        }
        if (parse_batch_item(&bi, &resp->results[i], why) != 0)
            return (EBADMSG);
        for (j = 0; j < i; j++)
            if (resp->results[i].batch_id != 0 &&
                resp->results[j].batch_id == resp->results[i].batch_id) {
                *why = "two batch items answer the same request";
                return (EBADMSG);
            }
    }
    if (wtkms_ttlv_child(&msg, WTKMS_KMIP_TAG_BATCH_ITEM, (int)count, &bi) == 0) {
        *why = "the response has more batch items than its count";
        return (EBADMSG);
    }
    resp->nresults = count;
    return (0);
}

/*
 * wtkms_kmip_result_for --
 *     Match an answer to a request.
 */
const wtkms_kmip_result *
wtkms_kmip_result_for(const wtkms_kmip_response *resp, int id)
{
    int i;

    for (i = 0; i < resp->nresults; i++)
        if (resp->results[i].batch_id == id)
            return (&resp->results[i]);
    /* A server that rejects the whole message answers one item without an id. */
    if (resp->nresults == 1 && resp->results[0].batch_id == 0)
        return (&resp->results[0]);
    return (NULL);
}

/*
 * wtkms_kmip_payload_state --
 *     The State attribute in a GetAttributes answer (KMIP 1.x: Attribute{Name, Value}).
 */
int
wtkms_kmip_payload_state(const wtkms_ttlv *payload, uint32_t *state)
{
    wtkms_ttlv attr, val;
    const uint8_t *name;
    size_t name_len;
    int i;

    for (i = 0; wtkms_ttlv_child(payload, WTKMS_KMIP_TAG_ATTRIBUTE, i, &attr) == 0; i++) {
        if (attr.type != WTKMS_TTLV_STRUCTURE)
            return (EBADMSG);
        if (wtkms_ttlv_child_bytes(
              &attr, WTKMS_KMIP_TAG_ATTRIBUTE_NAME, WTKMS_TTLV_TEXT_STRING, &name, &name_len) != 0)
            return (EBADMSG);
        if (name_len != 5 || memcmp(name, "State", 5) != 0)
            continue;
        if (wtkms_ttlv_child(&attr, WTKMS_KMIP_TAG_ATTRIBUTE_VALUE, 0, &val) != 0 ||
            val.type != WTKMS_TTLV_ENUMERATION || val.len != 4)
            return (EBADMSG);
        *state = wtkms_get_be32(val.value);
        return (0);
    }
    return (ENOENT);
}

/*
 * wtkms_kmip_state_name --
 *     A State's name as the spec writes it.
 */
const char *
wtkms_kmip_state_name(uint32_t state)
{
    switch (state) {
    case WTKMS_KMIP_STATE_PRE_ACTIVE:
        return ("Pre-Active");
    case WTKMS_KMIP_STATE_ACTIVE:
        return ("Active");
    case WTKMS_KMIP_STATE_DEACTIVATED:
        return ("Deactivated");
    case WTKMS_KMIP_STATE_COMPROMISED:
        return ("Compromised");
    case WTKMS_KMIP_STATE_DESTROYED:
        return ("Destroyed");
    case WTKMS_KMIP_STATE_DESTROYED_COMPROMISED:
        return ("Destroyed Compromised");
    default:
        return ("unknown");
    }
}

/*
 * wtkms_kmip_reason_name --
 *     A Result Reason's name as the spec writes it.
 */
const char *
wtkms_kmip_reason_name(uint32_t reason)
{
    static const char *const names[] = { NULL, "Item Not Found", "Response Too Large",
        "Authentication Not Successful", "Invalid Message", "Operation Not Supported",
        "Missing Data", "Invalid Field", "Feature Not Supported", "Operation Canceled By Requester",
        "Cryptographic Failure", "Illegal Operation", "Permission Denied", "Object Archived",
        "Index Out Of Bounds", "Application Namespace Not Supported",
        "Key Format Type Not Supported", "Key Compression Type Not Supported",
        "Encoding Option Error", "Key Value Not Present", "Attestation Required",
        "Attestation Failed", "Sensitive", "Not Extractable", "Object Already Exists" };

    if (reason < sizeof(names) / sizeof(names[0]) && names[reason] != NULL)
        return (names[reason]);
    if (reason == 0x100)
        return ("General Failure");
    return ("unknown reason");
}
