/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_oplog_s3.c -- S3's answers to the oplog segment store (oplog_store_s3.c over src/s3/):
 * the bucket check at open, segment listings, ranged header reads (Content-Range), whole
 * segment reads, the head object, conditional segment writes (412 and the read-back compare),
 * and the catalog built from them, with the scripted transport of fuzz_common.c.
 *
 * Input: one byte choosing the operation (catalog, read a segment, write a segment, write and
 * read the head), then the script of answers (fuzz_common.h); the first answer is the bucket
 * check's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_aws_env.h"
#include "fuzz_common.h"
#include "oplog_catalog.h"
#include "oplog_store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerInitialize --
 *     Static credentials.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_aws_env(AWS_ENV_STATIC);
    return (0);
}

/*
 * operation --
 *     One store operation.
 */
static int
operation(wtkms_oplog_store *s, int op, wtkms_err *err)
{
    static const uint8_t seg[] = "WTKMSOPL\x05\x00\x00\x00\x05\x00\x00\x00\x00";
    wtkms_oplog_catalog cat;
    wtkms_oplog_head head;
    wtkms_buf b;
    uint8_t *buf;
    uint64_t flen;
    size_t len;
    int ret;

    switch (op) {
    case 0:
        memset(&cat, 0, sizeof(cat));
        if ((ret = wtkms_oplog_catalog_load(s, &cat, err)) == 0)
            wtkms_oplog_catalog_free(&cat);
        return (ret);
    case 1:
        if ((ret = wtkms_oplog_store_read(s, 1, true, &buf, &len, &flen, err)) == 0) {
            if (len > flen && flen != 0)
                abort(); /* a header longer than the object it came from */
            free(buf);
        }
        memset(&b, 0, sizeof(b));
        if (ret == 0 && (ret = wtkms_oplog_store_read_buf(s, 1, &b, err)) == 0 &&
            b.len > WTKMS_SEG_MAX_BODY + WTKMS_SEG_MAX_HEADER + 64)
            abort(); /* larger than any segment */
        wtkms_buf_free(&b);
        return (ret);
    case 2:
        return (wtkms_oplog_store_write(s, 7, seg, sizeof(seg) - 1, err));
    default:
        memset(&head, 0, sizeof(head));
        head.format = WTKMS_OPLOG_HEAD_FORMAT;
        head.seq = 7;
        if ((ret = wtkms_oplog_store_write_head(s, &head, err)) != 0)
            return (ret);
        return (wtkms_oplog_store_read_head(s, &head, err));
    }
}

/*
 * LLVMFuzzerTestOneInput --
 *     Open the store, one operation.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_config cfg;
    wtkms_oplog_store *s;
    wtkms_err err;
    int ret;

    if (size == 0)
        return (0);
    wtkms_config_init(&cfg, "fuzz config");
    if (wtkms_config_set(&cfg, "s3_region", "us-east-1", &err) != 0)
        abort();
    fuzz_answers_set(data + 1, size - 1);
    memset(&err, 0, sizeof(err));
    if ((ret = wtkms_oplog_store_open("s3://fuzz-bucket/oplog", &cfg, false, &s, &err)) == 0) {
        ret = operation(s, data[0] % 4, &err);
        wtkms_oplog_store_close(s);
    }
    if (ret != 0 && err.msg[0] == '\0')
        abort(); /* a failure says why */
    fuzz_note(ret == 0 ? "done" : "failed", ret == 0 ? NULL : err.msg);
    wtkms_config_free(&cfg);
    return (0);
}
