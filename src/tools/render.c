/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render.c -- what the command prints: documents and arrays as JSON (every --json shape is in
 * docs/CLI.md), byte counts for people, a snapshot's summary (list, show and create --json); the
 * table layouts are render.h's.
 */
#include "render.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"

/*
 * wtkms_cli_human --
 *     Bytes for people.
 */
void
wtkms_cli_human(int64_t n, char *out, size_t outlen)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    int u;

    for (u = 0; v >= 1024 && u < 4; u++)
        v /= 1024;
    (void)snprintf(out, outlen, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

/*
 * wtkms_snapshot_summary --
 *     What listings print for one snapshot.
 */
void
wtkms_snapshot_summary(bson_t *doc, const wtkms_snap_manifest *m, bool with_files)
{
    bson_t sub, arr, f;
    char when[32], name[1200], idx[16], hex[2 * WTKMS_SHA256_LEN + 1];
    const char *k;
    uint32_t i;

    wtkms_iso_time(m->created_ms, when, sizeof(when));
    wtkms_manifest_key_name(m, name, sizeof(name));
    BSON_APPEND_UTF8(doc, "id", m->id);
    BSON_APPEND_UTF8(doc, "created", when);
    BSON_APPEND_INT64(doc, "size", m->size);
    BSON_APPEND_INT64(doc, "stored_size", m->stored_size);
    BSON_APPEND_DOCUMENT_BEGIN(doc, "compression", &sub);
    BSON_APPEND_UTF8(&sub, "algorithm", m->compress_level > 0 ? "zstd" : "none");
    BSON_APPEND_INT32(&sub, "level", m->compress_level);
    bson_append_document_end(doc, &sub);
    BSON_APPEND_INT32(doc, "file_count", (int32_t)m->nfiles);
    BSON_APPEND_UTF8(doc, "encryption_key_id", name);
    wtkms_kms_desc_append(doc, "master_key", m->encrypted ? &m->key : NULL);
    wtkms_kms_desc_append(doc, "keystore_master_key", m->has_keystore ? &m->keystore_cmk : NULL);
    BSON_APPEND_ARRAY_BEGIN(doc, "keystore_master_keys", &sub);
    for (i = 0; m->has_keystore && i < m->n_keystore_cmks; i++) {
        (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
        wtkms_kms_desc_append(&sub, k, &m->keystore_cmks[i]);
    }
    bson_append_array_end(doc, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(doc, "source", &sub);
    BSON_APPEND_UTF8(&sub, "host", m->source_host);
    BSON_APPEND_UTF8(&sub, "path", m->source_path);
    BSON_APPEND_UTF8(&sub, "method", m->source_method);
    bson_append_document_end(doc, &sub);
    BSON_APPEND_UTF8(doc, "wiredtiger_version", m->wt_version);
    if (m->has_oplog_ts) {
        BSON_APPEND_DOCUMENT_BEGIN(doc, "oplog_ts", &sub);
        BSON_APPEND_INT64(&sub, "t", m->oplog_t);
        BSON_APPEND_INT64(&sub, "i", m->oplog_i);
        bson_append_document_end(doc, &sub);
    } else
        BSON_APPEND_NULL(doc, "oplog_ts");
    if (!with_files)
        return;
    BSON_APPEND_INT32(doc, "chunk_size", (int32_t)m->chunk_size);
    BSON_APPEND_INT32(doc, "format_version", m->format_version);
    BSON_APPEND_ARRAY_BEGIN(doc, "files", &arr);
    for (i = 0; i < m->nfiles; i++) {
        (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &f);
        BSON_APPEND_UTF8(&f, "name", m->files[i].name);
        BSON_APPEND_INT64(&f, "size", m->files[i].size);
        BSON_APPEND_INT64(&f, "chunks", (int64_t)m->files[i].chunks);
        wtkms_hex(m->files[i].sha256, WTKMS_SHA256_LEN, hex);
        BSON_APPEND_UTF8(&f, "sha256", hex);
        bson_append_document_end(&arr, &f);
    }
    bson_append_array_end(doc, &arr);
}

/*
 * wtkms_cli_print_json --
 *     A document as relaxed extended JSON.
 */
void
wtkms_cli_print_json(const bson_t *doc)
{
    char *s;

    if ((s = bson_as_relaxed_extended_json(doc, NULL)) != NULL) {
        (void)printf("%s\n", s);
        bson_free(s);
    }
}

/*
 * wtkms_cli_print_json_array --
 *     An array as JSON: wrap it in a document and print its one value.
 */
void
wtkms_cli_print_json_array(const bson_t *arr)
{
    bson_t doc;
    char *s, *start, *end;

    bson_init(&doc);
    BSON_APPEND_ARRAY(&doc, "a", arr);
    if ((s = bson_as_relaxed_extended_json(&doc, NULL)) != NULL) {
        /* { "a" : [ ... ] } -> [ ... ] */
        start = strchr(s, '[');
        end = strrchr(s, ']');
        if (start != NULL && end != NULL && end >= start) {
            end[1] = '\0';
            (void)printf("%s\n", start);
        }
        bson_free(s);
    }
    bson_destroy(&doc);
}
