/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_catalog.c -- segment headers, coverage, run keys and whole-segment reads.
 */
#include "oplog_catalog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * wtkms_oplog_catalog_load --
 *     Headers only: cheap, and needs no key.
 */
int
wtkms_oplog_catalog_load(wtkms_oplog_store *store, wtkms_oplog_catalog *cat, wtkms_err *err)
{
    wtkms_oplog_seginfo *si;
    wtkms_err e2;
    uint64_t *seqs;
    uint8_t *buf;
    size_t n, i, len;
    char name[WTKMS_SEG_NAME_LEN];
    int ret;

    memset(cat, 0, sizeof(*cat));
    cat->store = store;
    if ((ret = wtkms_oplog_store_list(store, &seqs, &n, err)) != 0)
        return (ret);
    if (n > 0 && (cat->segs = calloc(n, sizeof(*cat->segs))) == NULL) {
        free(seqs);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    for (i = 0; i < n; i++) {
        si = &cat->segs[i];
        si->seq = seqs[i];
        wtkms_seg_name(si->seq, name, sizeof(name));
        wtkms_err_clear(&e2);
        if ((ret = wtkms_oplog_store_read(store, si->seq, true, &buf, &len, &si->file_len, &e2)) ==
            0) {
            ret = wtkms_seg_parse_header(buf, len, name, &si->h, &e2);
            free(buf);
        }
        if (ret == 0 && si->h.seq != si->seq) {
            ret = EILSEQ;
            (void)snprintf(e2.msg, sizeof(e2.msg),
              "%s holds segment %" PRIu64 ", not %" PRIu64
              ": segment files were renamed or reordered",
              name, si->h.seq, si->seq);
        }
        si->ok = ret == 0;
        if (!si->ok)
            (void)snprintf(si->problem, sizeof(si->problem), "%s", e2.msg);
    }
    cat->n = n;
    free(seqs);
    wtkms_err_clear(&e2);
    if ((ret = wtkms_oplog_store_read_head(store, &cat->head, &e2)) == 0)
        cat->have_head = true;
    else if (ret != ENOENT)
        (void)snprintf(cat->head_problem, sizeof(cat->head_problem), "%s", e2.msg);
    return (0);
}

/*
 * wtkms_oplog_catalog_free --
 *     Free the segment list.
 */
void
wtkms_oplog_catalog_free(wtkms_oplog_catalog *cat)
{
    free(cat->segs);
    memset(cat, 0, sizeof(*cat));
}

/*
 * wtkms_oplog_catalog_range --
 *     First and last entry over all entry segments.
 */
void
wtkms_oplog_catalog_range(const wtkms_oplog_catalog *cat, wtkms_ts *firstp, wtkms_ts *lastp)
{
    size_t i;

    *firstp = *lastp = 0;
    for (i = 0; i < cat->n; i++)
        if (cat->segs[i].ok && cat->segs[i].h.kind == WTKMS_SEG_ENTRIES) {
            if (*firstp == 0)
                *firstp = cat->segs[i].h.first_ts;
            *lastp = cat->segs[i].h.last_ts;
        }
}

/*
 * wtkms_oplog_catalog_check --
 *     Is every entry in (after, until] in the store?
 */
int
wtkms_oplog_catalog_check(
  const wtkms_oplog_catalog *cat, wtkms_ts after, wtkms_ts until, const char *what, wtkms_err *err)
{
    const wtkms_oplog_seginfo *si;
    wtkms_ts first, last, lo, hi;
    char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN], c[WTKMS_TS_STRLEN], d[WTKMS_TS_STRLEN];
    size_t i;

    wtkms_oplog_catalog_range(cat, &first, &last);
    if (cat->n == 0 || first == 0)
        return (wtkms_errf(err, ENOENT, "%s: oplog store %s holds no oplog entries", what,
          wtkms_oplog_store_where(cat->store)));
    /* Entries after `after` are needed, so the store must hold `after` itself or earlier. */
    if (until < first || after + 1 < first || until > last) {
        wtkms_ts_str_long(first, a, sizeof(a));
        wtkms_ts_str_long(last, b, sizeof(b));
        wtkms_ts_str_long(after + 1 < first ? after : until, c, sizeof(c));
        return (wtkms_errf(err, ERANGE,
          "%s: %s is outside the range oplog store %s covers, %s to %s: choose a time inside it%s",
          what, c, wtkms_oplog_store_where(cat->store), a, b,
          until > last ? " (or wait for the tap to save later entries)" : ""));
    }
    for (i = 0; i < cat->n; i++) {
        si = &cat->segs[i];
        if (!si->ok)
            return (wtkms_errf(err, EILSEQ, "%s: %s; run 'wtkms oplog verify'", what, si->problem));
        if (si->seq != (uint64_t)i + 1)
            return (wtkms_errf(err, EILSEQ,
              "%s: oplog store %s is missing segment %" PRIu64
              "%s: run 'wtkms oplog verify' for details",
              what, wtkms_oplog_store_where(cat->store), (uint64_t)i + 1,
              si->seq > (uint64_t)i + 2 ? " and others" : ""));
        if (si->h.kind != WTKMS_SEG_GAP || cat->allow_gaps)
            continue;
        /* Entries strictly between gap_from and gap_to are unknown: does (after, until] touch? */
        lo = si->h.gap_from > after ? si->h.gap_from : after;
        hi = si->h.gap_to - 1 < until ? si->h.gap_to - 1 : until;
        if (lo < hi) {
            wtkms_ts_str_long(si->h.gap_from, a, sizeof(a));
            wtkms_ts_str_long(si->h.gap_to, b, sizeof(b));
            wtkms_ts_str(si->h.gap_from, c, sizeof(c));
            wtkms_ts_str(si->h.gap_to, d, sizeof(d));
            return (wtkms_errf(err, ERANGE,
              "%s: the oplog has a gap from %s to %s (segment %" PRIu64
              "): entries in between were lost before the tap read them, so no restore can pass "
              "through it; choose a time at or before %s, or a snapshot taken at or after %s",
              what, a, b, si->seq, c, d));
        }
    }
    return (0);
}

/*
 * wtkms_oplog_catalog_gaps_in --
 *     Recorded gaps whose unknown entries fall inside (after, until].
 */
int
wtkms_oplog_catalog_gaps_in(const wtkms_oplog_catalog *cat, wtkms_ts after, wtkms_ts until)
{
    const wtkms_oplog_seginfo *si;
    wtkms_ts lo, hi;
    size_t i;
    int n;

    for (n = 0, i = 0; i < cat->n; i++) {
        si = &cat->segs[i];
        if (!si->ok || si->h.kind != WTKMS_SEG_GAP)
            continue;
        lo = si->h.gap_from > after ? si->h.gap_from : after;
        hi = si->h.gap_to - 1 < until ? si->h.gap_to - 1 : until;
        if (lo < hi)
            n++;
    }
    return (n);
}

struct wtkms_oplog_keys {
    wtkms_kms *kms;
    wtkms_kms_ring *ring;
    bool allow_unencrypted;
    struct {
        uint8_t run[WTKMS_RUN_ID_LEN];
        uint8_t wrapped[4096];
        size_t wrapped_len;
        wtkms_key *key;
    } * runs;
    size_t n;
};

/*
 * wtkms_oplog_keys_new --
 *     An empty cache.
 */
wtkms_oplog_keys *
wtkms_oplog_keys_new(wtkms_kms *kms)
{
    wtkms_oplog_keys *k;

    if ((k = calloc(1, sizeof(*k))) != NULL)
        k->kms = kms;
    return (k);
}

/*
 * wtkms_oplog_keys_use_ring --
 *     Several master-key configurations.
 */
void
wtkms_oplog_keys_use_ring(wtkms_oplog_keys *keys, wtkms_kms_ring *ring)
{
    keys->ring = ring;
}

/*
 * wtkms_oplog_keys_allow_unencrypted --
 *     --allow-unencrypted.
 */
void
wtkms_oplog_keys_allow_unencrypted(wtkms_oplog_keys *keys, bool allow)
{
    keys->allow_unencrypted = allow;
}

/*
 * wtkms_oplog_keys_strict --
 *     A key is configured and the no-downgrade rule holds.
 */
bool
wtkms_oplog_keys_strict(const wtkms_oplog_keys *keys)
{
    return (
      (keys->kms != NULL || wtkms_kms_ring_count(keys->ring) > 0) && !keys->allow_unencrypted);
}

/*
 * wtkms_oplog_keys_free --
 *     Wipe every run key.
 */
void
wtkms_oplog_keys_free(wtkms_oplog_keys *keys)
{
    size_t i;

    if (keys == NULL)
        return;
    for (i = 0; i < keys->n; i++)
        wtkms_key_free(keys->runs[i].key);
    free(keys->runs);
    free(keys);
}

/*
 * wtkms_oplog_keys_get --
 *     The run key for a segment: cached, or one unwrap through the provider.
 */
int
wtkms_oplog_keys_get(wtkms_oplog_keys *keys, const wtkms_seg_header *h, const char *name,
  const wtkms_key **keyp, wtkms_err *err)
{
    wtkms_kms *kms;
    wtkms_key *key;
    void *p;
    size_t i;
    char kid[1200];
    int ret;

    *keyp = NULL;
    if (!h->encrypted) {
        /* No downgrade: with a key configured, a segment without a tag proves nothing. */
        if (wtkms_oplog_keys_strict(keys))
            return (wtkms_errf(err, EBADMSG,
              "%s (segment %" PRIu64 ") is not encrypted (Encryption Key ID \"Not enabled\"), but "
              "a master key is configured: an unencrypted segment is not authenticated, so anyone "
              "who can write to the store could have made it; refused (pass --allow-unencrypted "
              "only if the tap wrote it with --no-encryption)",
              name, h->seq));
        return (0);
    }
    for (i = 0; i < keys->n; i++)
        if (memcmp(keys->runs[i].run, h->run, WTKMS_RUN_ID_LEN) == 0 &&
            keys->runs[i].wrapped_len == h->wrapped_len &&
            memcmp(keys->runs[i].wrapped, h->wrapped, h->wrapped_len) == 0) {
            *keyp = keys->runs[i].key;
            return (0);
        }
    wtkms_seg_key_id(h, kid, sizeof(kid));
    kms = keys->kms;
    if (kms == NULL && wtkms_kms_ring_count(keys->ring) == 0)
        return (wtkms_errf(err, EINVAL,
          "%s is encrypted under master key %s: give the provider settings (--config FILE, or "
          "--provider ... --key-file ...)",
          name, kid));
    /*
     * The configuration decides where keys live: refuse before any credential is used. With
     * several configurations, the one for this segment's key (kms_ring.h).
     */
    if (keys->ring != NULL)
        ret = wtkms_kms_ring_find(keys->ring, &h->cmk, &kms, NULL, err);
    else
        ret = wtkms_kms_check_match(kms, &h->cmk, err);
    if (ret != 0)
        return (wtkms_err_prefix(err, "%s (master key %s)", name, kid));
    if ((ret = kms->unwrap(kms, h->wrapped, h->wrapped_len, &h->cmk, &key, err)) != 0)
        return (
          wtkms_err_prefix(err, "%s: cannot unwrap its run key with master key %s", name, kid));
    if ((p = realloc(keys->runs, (keys->n + 1) * sizeof(*keys->runs))) == NULL) {
        wtkms_key_free(key);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    keys->runs = p;
    memcpy(keys->runs[keys->n].run, h->run, WTKMS_RUN_ID_LEN);
    memcpy(keys->runs[keys->n].wrapped, h->wrapped, h->wrapped_len);
    keys->runs[keys->n].wrapped_len = h->wrapped_len;
    keys->runs[keys->n].key = key;
    keys->n++;
    *keyp = key;
    return (0);
}

/*
 * wtkms_oplog_reader_init --
 *     A cipher context; buffers grow on first use.
 */
int
wtkms_oplog_reader_init(wtkms_oplog_reader *rd, wtkms_err *err)
{
    memset(rd, 0, sizeof(*rd));
    if ((rd->gcm = wtkms_gcm_new()) == NULL)
        return (wtkms_errf(err, ENOMEM, "cannot create an AES-256-GCM context"));
    return (0);
}

/*
 * wtkms_oplog_reader_free --
 *     Wipe and free.
 */
void
wtkms_oplog_reader_free(wtkms_oplog_reader *rd)
{
    wtkms_gcm_free(rd->gcm);
    wtkms_buf_free(&rd->file);
    wtkms_buf_free(&rd->plain);
    memset(rd, 0, sizeof(*rd));
}

/*
 * wtkms_oplog_read_segment --
 *     The whole file, checked and decrypted.
 */
int
wtkms_oplog_read_segment(wtkms_oplog_store *store, uint64_t seq, wtkms_oplog_keys *keys,
  wtkms_oplog_reader *rd, wtkms_seg_header *hp, uint8_t digest[WTKMS_SHA256_LEN], wtkms_err *err)
{
    const wtkms_key *key;
    char name[WTKMS_SEG_NAME_LEN];
    int ret;

    rd->plain.len = 0;
    wtkms_seg_name(seq, name, sizeof(name));
    if ((ret = wtkms_oplog_store_read_buf(store, seq, &rd->file, err)) != 0)
        return (ret);
    if ((ret = wtkms_seg_parse_header(rd->file.p, rd->file.len, name, hp, err)) != 0)
        return (ret);
    if (hp->seq != seq)
        return (wtkms_errf(err, EILSEQ,
          "%s holds segment %" PRIu64 ", not %" PRIu64 ": segment files were renamed or reordered",
          name, hp->seq, seq));
    if ((ret = wtkms_sha256(rd->file.p, rd->file.len, digest)) != 0)
        return (wtkms_errf(err, ret, "SHA-256 failed"));
    /* A wrong length is an integrity fault whatever the key: check it before any KMS call. */
    if (rd->file.len != wtkms_seg_file_len(hp))
        return (wtkms_seg_open(hp, rd->file.p, rd->file.len, rd->gcm, NULL, name, NULL, err));
    if ((ret = wtkms_oplog_keys_get(keys, hp, name, &key, err)) != 0)
        return (ret);
    if ((ret = wtkms_buf_reserve(&rd->plain, (size_t)hp->plain_len + 1)) != 0)
        return (wtkms_errf(err, ret, "out of memory for segment %" PRIu64, seq));
    if ((ret = wtkms_seg_open(
           hp, rd->file.p, rd->file.len, rd->gcm, key, name, rd->plain.p, err)) != 0)
        return (ret);
    rd->plain.len = (size_t)hp->plain_len;
    return (0);
}

/*
 * wtkms_oplog_walk --
 *     Entries of one segment, checked against its header.
 */
int
wtkms_oplog_walk(const wtkms_seg_header *h, const uint8_t *plain, wtkms_ts prev_last,
  wtkms_oplog_entry_fn fn, void *arg, wtkms_err *err)
{
    const uint8_t *doc;
    wtkms_ts ts, last;
    int64_t term;
    uint64_t count;
    size_t off, len;
    char name[WTKMS_SEG_NAME_LEN], a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN];
    int ret;

    wtkms_seg_name(h->seq, name, sizeof(name));
    last = prev_last;
    count = 0;
    off = 0;
    while ((ret = wtkms_seg_next_entry(plain, h->plain_len, &off, &doc, &len)) == 0) {
        if (wtkms_oplog_entry_ts(doc, len, &ts, &term) != 0)
            return (wtkms_errf(err, EILSEQ,
              "%s (segment %" PRIu64 "): entry %" PRIu64 " has no Timestamp \"ts\"", name, h->seq,
              count + 1));
        if (ts <= last && (last != 0 || count != 0)) {
            wtkms_ts_str(ts, a, sizeof(a));
            wtkms_ts_str(last, b, sizeof(b));
            return (wtkms_errf(err, EILSEQ,
              "%s (segment %" PRIu64 "): entry %s is not after %s: entries are out of order", name,
              h->seq, a, b));
        }
        if (count == 0 && ts != h->first_ts)
            return (wtkms_errf(err, EILSEQ,
              "%s (segment %" PRIu64 "): the first entry is not the one its header records", name,
              h->seq));
        if (fn != NULL && (ret = fn(arg, doc, len, ts, err)) != 0)
            return (ret);
        last = ts;
        count++;
    }
    if (ret != 1)
        return (wtkms_errf(err, EILSEQ,
          "%s (segment %" PRIu64 "): entry %" PRIu64 " is not a whole BSON document", name, h->seq,
          count + 1));
    if (count != h->count || (count > 0 && last != h->last_ts))
        return (wtkms_errf(err, EILSEQ,
          "%s (segment %" PRIu64 ") holds %" PRIu64 " entries ending at another time than the "
          "%" PRIu64 " its header records",
          name, h->seq, count, h->count));
    return (0);
}
