/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_s3.c -- S3's answers to the snapshot store (store_s3.c over src/s3/): ListObjectsV2 pages
 * (XML, with continuation tokens and entities), error documents (Code, Message), object and
 * ranged reads, uploads and commits, cleanup and removal, with the scripted transport of
 * fuzz_common.c.
 *
 * Input: one byte choosing the operation (list, get manifest, read an object, write a snapshot,
 * cleanup, remove; 0x80 and above: abort abandoned multipart uploads, ListMultipartUploads pages),
 * then the script of answers (fuzz_common.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_aws_env.h"
#include "fuzz_common.h"
#include "store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "20261125T224529Z-1a2b3c4d"

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
operation(wtkms_store *s, int op, wtkms_err *err)
{
    wtkms_store_reader *r;
    wtkms_store_writer *w;
    uint8_t *buf, chunk[4096];
    char **ids;
    size_t n, i, got;
    int ret, removed;

    switch (op) {
    case 0:
        if ((ret = s->list(s, &ids, &n, err)) == 0) {
            for (i = 0; i < n; i++)
                if (!wtkms_snap_id_valid(ids[i]))
                    abort(); /* only snapshot ids are listed */
            wtkms_store_free_ids(ids, n);
        }
        return (ret);
    case 1:
        if ((ret = s->get_manifest(s, ID, &buf, &n, err)) == 0)
            free(buf);
        return (ret);
    case 2:
        if ((ret = s->get_open(s, ID, "files/00000000", &r, err)) != 0)
            return (ret);
        for (i = 0; i < 64; i++)
            if ((ret = s->get_read(r, chunk, sizeof(chunk), &got, err)) != 0 || got < sizeof(chunk))
                break;
        s->get_close(r);
        return (ret);
    case 3:
        memset(chunk, 0x61, sizeof(chunk));
        if ((ret = s->begin(s, ID, err)) != 0)
            return (ret);
        if ((ret = s->put_open(s, ID, "files/00000000", &w, err)) != 0)
            return (ret);
        if ((ret = s->put_write(w, chunk, sizeof(chunk), err)) != 0) {
            s->put_abort(w);
            return (ret);
        }
        if ((ret = s->put_close(w, err)) != 0)
            return (ret);
        return (s->commit(s, ID, chunk, 100, err));
    case 4:
        return (s->cleanup(s, 0, &removed, err));
    case 6:
        return (s->abort_uploads(s, 3600 * 1000, false, &removed, err));
    default:
        return (s->remove(s, ID, err));
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
    wtkms_store *s;
    wtkms_err err;
    int ret;

    if (size == 0)
        return (0);
    wtkms_config_init(&cfg, "fuzz config");
    if (wtkms_config_set(&cfg, "s3_region", "us-east-1", &err) != 0 ||
        wtkms_store_open("s3://fuzz-bucket/wtkms", &cfg, &s, &err) != 0) {
        fprintf(stderr, "fuzz_s3: open: %s\n", err.msg);
        abort();
    }
    fuzz_answers_set(data + 1, size - 1);
    memset(&err, 0, sizeof(err));
    /* 0..5 as the seeds were made; 0x80 and above: abort abandoned multipart uploads. */
    ret = operation(s, data[0] >= 0x80 ? 6 : data[0] % 6, &err);
    if (ret != 0 && err.msg[0] == '\0')
        abort(); /* a failure says why */
    fuzz_note(ret == 0 ? "done" : "failed", ret == 0 ? NULL : err.msg);
    s->free(s);
    wtkms_config_free(&cfg);
    return (0);
}
