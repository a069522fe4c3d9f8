/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kmip_ttlv.h -- the KMIP 1.4 messages wtkms exchanges, in TTLV: requests for GetAttributes,
 * Encrypt and Decrypt (batched in one message) and a bounds-checked parser of the responses.
 *
 * Debian's kms_message (1.7.2) builds only Register, Activate and Get, so this encoding is ours.
 * It is deliberately small: the encoder writes into a caller's fixed buffer and reports overflow;
 * the parser never reads outside the buffer it is given, validates every item (type, length,
 * padding, nesting depth) before anything looks at it, and returns pointers into that buffer.
 * No I/O, no allocation. unittests/test_kmip_ttlv.c checks it against PyKMIP's encoding and
 * mutates valid responses at random to show that no input crashes it.
 *
 * TTLV (KMIP 1.4 spec, section 9.1): a 3-byte tag, a 1-byte type, a 4-byte big-endian length,
 * then the value padded with zeros to a multiple of 8 bytes. A structure's value is a sequence
 * of items.
 */
#ifndef WTKMS_KMIP_TTLV_H
#define WTKMS_KMIP_TTLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Item types. */
#define WTKMS_TTLV_STRUCTURE 0x01
#define WTKMS_TTLV_INTEGER 0x02
#define WTKMS_TTLV_LONG_INTEGER 0x03
#define WTKMS_TTLV_BIG_INTEGER 0x04
#define WTKMS_TTLV_ENUMERATION 0x05
#define WTKMS_TTLV_BOOLEAN 0x06
#define WTKMS_TTLV_TEXT_STRING 0x07
#define WTKMS_TTLV_BYTE_STRING 0x08
#define WTKMS_TTLV_DATE_TIME 0x09
#define WTKMS_TTLV_INTERVAL 0x0A

/* Tags (only those wtkms sends or reads). */
#define WTKMS_KMIP_TAG_ATTRIBUTE 0x420008
#define WTKMS_KMIP_TAG_ATTRIBUTE_NAME 0x42000A
#define WTKMS_KMIP_TAG_ATTRIBUTE_VALUE 0x42000B
#define WTKMS_KMIP_TAG_BATCH_COUNT 0x42000D
#define WTKMS_KMIP_TAG_BATCH_ITEM 0x42000F
#define WTKMS_KMIP_TAG_BLOCK_CIPHER_MODE 0x420011
#define WTKMS_KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM 0x420028
#define WTKMS_KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS 0x42002B
#define WTKMS_KMIP_TAG_IV_COUNTER_NONCE 0x42003D
#define WTKMS_KMIP_TAG_OPERATION 0x42005C
#define WTKMS_KMIP_TAG_PROTOCOL_VERSION 0x420069
#define WTKMS_KMIP_TAG_PROTOCOL_VERSION_MAJOR 0x42006A
#define WTKMS_KMIP_TAG_PROTOCOL_VERSION_MINOR 0x42006B
#define WTKMS_KMIP_TAG_REQUEST_HEADER 0x420077
#define WTKMS_KMIP_TAG_REQUEST_MESSAGE 0x420078
#define WTKMS_KMIP_TAG_REQUEST_PAYLOAD 0x420079
#define WTKMS_KMIP_TAG_RESPONSE_HEADER 0x42007A
#define WTKMS_KMIP_TAG_RESPONSE_MESSAGE 0x42007B
#define WTKMS_KMIP_TAG_RESPONSE_PAYLOAD 0x42007C
#define WTKMS_KMIP_TAG_RESULT_MESSAGE 0x42007D
#define WTKMS_KMIP_TAG_RESULT_REASON 0x42007E
#define WTKMS_KMIP_TAG_RESULT_STATUS 0x42007F
#define WTKMS_KMIP_TAG_STATE 0x42008D
#define WTKMS_KMIP_TAG_UNIQUE_BATCH_ITEM_ID 0x420093
#define WTKMS_KMIP_TAG_UNIQUE_IDENTIFIER 0x420094
#define WTKMS_KMIP_TAG_DATA 0x4200C2
#define WTKMS_KMIP_TAG_TAG_LENGTH 0x4200CE
#define WTKMS_KMIP_TAG_AE_ADDITIONAL_DATA 0x4200FE
#define WTKMS_KMIP_TAG_AE_TAG 0x4200FF

/* Operations. */
#define WTKMS_KMIP_OP_GET_ATTRIBUTES 0x0B
#define WTKMS_KMIP_OP_ENCRYPT 0x1F
#define WTKMS_KMIP_OP_DECRYPT 0x20

/* Result Status. */
#define WTKMS_KMIP_STATUS_SUCCESS 0
#define WTKMS_KMIP_STATUS_FAILED 1
#define WTKMS_KMIP_STATUS_PENDING 2
#define WTKMS_KMIP_STATUS_UNDONE 3

/* Result Reason (the ones wtkms words differently; others are reported by number and text). */
#define WTKMS_KMIP_REASON_ITEM_NOT_FOUND 0x01
#define WTKMS_KMIP_REASON_AUTHENTICATION 0x03
#define WTKMS_KMIP_REASON_INVALID_MESSAGE 0x04
#define WTKMS_KMIP_REASON_OPERATION_NOT_SUPPORTED 0x05
#define WTKMS_KMIP_REASON_INVALID_FIELD 0x07
#define WTKMS_KMIP_REASON_FEATURE_NOT_SUPPORTED 0x08
#define WTKMS_KMIP_REASON_CRYPTOGRAPHIC_FAILURE 0x0A
#define WTKMS_KMIP_REASON_PERMISSION_DENIED 0x0C
#define WTKMS_KMIP_REASON_OBJECT_ARCHIVED 0x0D

/* State. */
#define WTKMS_KMIP_STATE_PRE_ACTIVE 1
#define WTKMS_KMIP_STATE_ACTIVE 2
#define WTKMS_KMIP_STATE_DEACTIVATED 3
#define WTKMS_KMIP_STATE_COMPROMISED 4
#define WTKMS_KMIP_STATE_DESTROYED 5
#define WTKMS_KMIP_STATE_DESTROYED_COMPROMISED 6

#define WTKMS_KMIP_ALG_AES 3
#define WTKMS_KMIP_MODE_GCM 9

#define WTKMS_TTLV_HEADER_LEN 8
#define WTKMS_TTLV_MAX_DEPTH 8   /* deeper responses are refused: ours nest 5 levels */
#define WTKMS_KMIP_MAX_BATCH 4   /* items per message, sent or accepted */
#define WTKMS_KMIP_MAX_UID 256   /* unique identifiers longer than this are refused */
#define WTKMS_KMIP_GCM_IV_LEN 12 /* the IV wtkms sends */

/*
 * Encoder: writes into buf[0..cap). Calls after an overflow do nothing; wtkms_ttlv_enc_done
 * reports it.
 */
typedef struct {
    uint8_t *buf;
    size_t cap, len;
    size_t open[WTKMS_TTLV_MAX_DEPTH]; /* offsets of the open structures' headers */
    int depth;
    bool failed;   /* overflow or bad nesting: later calls do nothing */
    bool overflow; /* it was the buffer's size */
} wtkms_ttlv_enc;

void wtkms_ttlv_enc_init(wtkms_ttlv_enc *e, uint8_t *buf, size_t cap);
void wtkms_ttlv_begin(wtkms_ttlv_enc *e, uint32_t tag);
void wtkms_ttlv_end(wtkms_ttlv_enc *e);
void wtkms_ttlv_int(wtkms_ttlv_enc *e, uint32_t tag, int32_t v);
void wtkms_ttlv_enum(wtkms_ttlv_enc *e, uint32_t tag, uint32_t v);
void wtkms_ttlv_text(wtkms_ttlv_enc *e, uint32_t tag, const char *s, size_t len);
void wtkms_ttlv_bytes(wtkms_ttlv_enc *e, uint32_t tag, const void *p, size_t len);
/* 0 and the encoded length, or EMSGSIZE (overflow) or EINVAL (structures left open). */
int wtkms_ttlv_enc_done(wtkms_ttlv_enc *e, size_t *lenp);

/* A parsed item: value points into the parsed buffer and holds len bytes (padding excluded). */
typedef struct {
    uint32_t tag;
    uint8_t type;
    uint32_t len;
    const uint8_t *value;
} wtkms_ttlv;

/*
 * Parse the one item that must fill buf[0..len) exactly (a whole message). Everything inside is
 * validated: known types, fixed lengths where the type has one, lengths within bounds, zero
 * padding, structures made only of whole items, depth at most WTKMS_TTLV_MAX_DEPTH. Returns 0 or
 * EBADMSG.
 */
int wtkms_ttlv_parse(const uint8_t *buf, size_t len, wtkms_ttlv *item);

/*
 * The total length (header + value + padding) of the message whose 8-byte header is hdr, for
 * reading a message off the wire: 0 when the header is not a structure or is longer than max.
 */
size_t wtkms_ttlv_message_len(const uint8_t hdr[WTKMS_TTLV_HEADER_LEN], size_t max);

/* The nth (from 0) child of a structure with the given tag: 0, or ENOENT. Parent was parsed. */
int wtkms_ttlv_child(const wtkms_ttlv *parent, uint32_t tag, int nth, wtkms_ttlv *out);
/* Typed values: 0, ENOENT (no such child), or EBADMSG (wrong type). */
int wtkms_ttlv_child_enum(const wtkms_ttlv *parent, uint32_t tag, uint32_t *v);
int wtkms_ttlv_child_int(const wtkms_ttlv *parent, uint32_t tag, int32_t *v);
int wtkms_ttlv_child_bytes(
  const wtkms_ttlv *parent, uint32_t tag, uint8_t type, const uint8_t **p, size_t *len);

/* One operation of a request. Unused fields are NULL/0. */
typedef struct {
    uint32_t operation; /* WTKMS_KMIP_OP_* */
    const char *uid;    /* the key's unique identifier */
    const uint8_t *data, *iv, *aad, *tag;
    size_t data_len, iv_len, aad_len, tag_len;
} wtkms_kmip_op;

/*
 * Build a KMIP 1.4 request message carrying nops operations (batch items with unique batch item
 * ids 1..nops): GetAttributes asks for "State"; Encrypt and Decrypt use AES-GCM with a 16-byte
 * tag. Returns 0, EMSGSIZE, or EINVAL (bad operation or count).
 */
int wtkms_kmip_build_request(
  uint8_t *buf, size_t cap, const wtkms_kmip_op *ops, int nops, size_t *lenp);

/* One batch item of a response. Pointers point into the parsed buffer. */
typedef struct {
    uint32_t operation; /* 0 when the server sent none */
    int batch_id;       /* 1..WTKMS_KMIP_MAX_BATCH, 0 when absent */
    uint32_t status;
    uint32_t reason; /* 0 when absent */
    const char *message;
    size_t message_len; /* 0 when absent; not NUL-terminated */
    bool has_payload;
    wtkms_ttlv payload;
} wtkms_kmip_result;

typedef struct {
    int major, minor; /* the server's protocol version */
    int nresults;
    wtkms_kmip_result results[WTKMS_KMIP_MAX_BATCH];
} wtkms_kmip_response;

/*
 * Parse a response message. Returns 0, or EBADMSG with a short reason in why (a static string)
 * when the message is not a well-formed KMIP response.
 */
int wtkms_kmip_parse_response(
  const uint8_t *buf, size_t len, wtkms_kmip_response *resp, const char **why);

/* The result whose batch id is id, or, for a single-item answer without ids, that one. */
const wtkms_kmip_result *wtkms_kmip_result_for(const wtkms_kmip_response *resp, int id);

/* The State attribute of a GetAttributes payload: 0, ENOENT, or EBADMSG. */
int wtkms_kmip_payload_state(const wtkms_ttlv *payload, uint32_t *state);

/* Names for messages: "Active", "Item Not Found", ... ("unknown" for others). */
const char *wtkms_kmip_state_name(uint32_t state);
const char *wtkms_kmip_reason_name(uint32_t reason);

#endif
