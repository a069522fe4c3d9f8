/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_segmenter.c -- cutting, sealing, chaining and writing segments.
 */
#define _GNU_SOURCE
#include "oplog_segmenter.h"

#include "oplog_catalog.h"
#include "oplog_verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "zcodec.h"

/*
 * wtkms_oplog_mono_ms --
 *     CLOCK_MONOTONIC in milliseconds: segment ages must not jump with the wall clock.
 */
int64_t
wtkms_oplog_mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * wall_ms --
 *     Wall-clock milliseconds for "created".
 */
static int64_t
wall_ms(void)
{
    struct timeval tv;

    (void)gettimeofday(&tv, NULL);
    return ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

/*
 * wtkms_segmenter_init --
 *     A new run.
 */
int
wtkms_segmenter_init(wtkms_segmenter *sg, wtkms_oplog_store *store, wtkms_kms *kms,
  uint64_t segment_bytes, unsigned segment_seconds, wtkms_err *err)
{
    uint8_t *blob;
    size_t blob_len;
    int ret;

    memset(sg, 0, sizeof(*sg));
    sg->store = store;
    sg->next_seq = 1;
    sg->last_term = -1;
    sg->segment_bytes = segment_bytes;
    sg->segment_ms = (int64_t)segment_seconds * 1000;
    sg->compress_level = WTKMS_ZSTD_LEVEL_DEFAULT;
    if ((ret = wtkms_random(sg->run, sizeof(sg->run))) != 0 ||
        (ret = wtkms_random(sg->store_id, sizeof(sg->store_id))) != 0)
        return (wtkms_errf(err, ret, "no random bytes from OpenSSL for the run id"));
    sg->kms = kms;
    if ((sg->gcm = wtkms_gcm_new()) == NULL)
        return (wtkms_errf(err, ENOMEM, "cannot create an AES-256-GCM context"));
    if (kms == NULL)
        return (0);
    sg->encrypt = true;
    if ((sg->run_key = wtkms_key_new()) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = wtkms_random_key(sg->run_key->b)) != 0)
        return (wtkms_errf(err, ret, "no random bytes from OpenSSL for the run key"));
    if ((ret = kms->wrap(kms, sg->run_key->b, &blob, &blob_len, &sg->cmk, err)) != 0)
        return (wtkms_err_prefix(err, "wrapping the oplog run key"));
    if (blob_len > sizeof(sg->wrapped)) {
        free(blob);
        return (wtkms_errf(err, EPROTO,
          "the %s provider's wrapped key is %zu bytes, more than a segment header holds (%zu)",
          sg->cmk.provider, blob_len, sizeof(sg->wrapped)));
    }
    memcpy(sg->wrapped, blob, blob_len);
    sg->wrapped_len = blob_len;
    free(blob);
    return (0);
}

/*
 * wtkms_segmenter_free --
 *     Wipe the run key and buffers.
 */
void
wtkms_segmenter_free(wtkms_segmenter *sg)
{
    wtkms_key_free(sg->run_key);
    wtkms_gcm_free(sg->gcm);
    wtkms_zc_free(sg->zc);
    wtkms_buf_free(&sg->plain);
    wtkms_buf_free(&sg->out);
    memset(sg, 0, sizeof(*sg));
}

/*
 * authenticate_newest --
 *     The segment a resumed chain continues from: never an unencrypted one in an encrypted run
 *     (or the reverse), and, under the configured master key, one whose tag verifies.
 */
static int
authenticate_newest(wtkms_segmenter *sg, const wtkms_seg_header *h, const uint8_t *file, size_t len,
  const char *name, wtkms_err *err)
{
    wtkms_oplog_keys *keys;
    const wtkms_key *key;
    wtkms_err e2;
    uint8_t *plain;
    int ret;

    if (sg->encrypt && !h->encrypted)
        return (wtkms_errf(err, EBADMSG,
          "%s is not encrypted, and this tap run is: an encrypted chain never continues from an "
          "unencrypted segment, which anyone who can write to the store could have made; start a "
          "new store (or continue an unencrypted one with --no-encryption)",
          name));
    if (!sg->encrypt && h->encrypted)
        return (wtkms_errf(err, EBADMSG,
          "%s is encrypted, and this tap run is not (--no-encryption): unencrypted segments in "
          "an encrypted chain could be forged by anyone who can write to the store; give the "
          "master key, or start a new store",
          name));
    if (!sg->encrypt)
        return (0);
    /* Under another master key (rotated since): nothing here can unwrap it; verify will. */
    wtkms_err_clear(&e2);
    if (wtkms_kms_check_match(sg->kms, &h->cmk, &e2) != 0)
        return (0);
    if ((keys = wtkms_oplog_keys_new(sg->kms)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((plain = malloc((size_t)h->plain_len + 1)) == NULL) {
        wtkms_oplog_keys_free(keys);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    if ((ret = wtkms_oplog_keys_get(keys, h, name, &key, err)) == 0)
        ret = wtkms_seg_open(h, file, len, sg->gcm, key, name, plain, err);
    wtkms_wipe(plain, (size_t)h->plain_len);
    free(plain);
    wtkms_oplog_keys_free(keys);
    return (ret);
}

/*
 * check_chain_end --
 *     What verify checks at the end of the chain (the head file's place, digest and MAC, the
 *     store ids): a tap must not continue a chain whose newest segments were cut, and so make the
 *     cut look genuine.
 */
static int
check_chain_end(wtkms_segmenter *sg, wtkms_err *err)
{
    wtkms_oplog_catalog cat;
    wtkms_oplog_keys *keys;
    int ret;

    if ((ret = wtkms_oplog_catalog_load(sg->store, &cat, err)) != 0)
        return (ret);
    if ((keys = wtkms_oplog_keys_new(sg->kms)) == NULL)
        ret = wtkms_errf(err, ENOMEM, "out of memory");
    else
        ret = wtkms_oplog_check_ends(&cat, keys, 0, NULL, err);
    wtkms_oplog_keys_free(keys);
    wtkms_oplog_catalog_free(&cat);
    return (ret);
}

/*
 * wtkms_segmenter_resume --
 *     Pick up the chain from the newest segment file.
 */
int
wtkms_segmenter_resume(wtkms_segmenter *sg, wtkms_oplog_resume *r, wtkms_err *err)
{
    wtkms_oplog_head head;
    wtkms_seg_header h;
    wtkms_err e2;
    uint64_t *seqs, last, file_len;
    uint8_t *buf, digest[WTKMS_SHA256_LEN];
    size_t n, len;
    char name[WTKMS_SEG_NAME_LEN];
    const char *where;
    int ret, hret;

    memset(r, 0, sizeof(*r));
    r->term = -1;
    where = wtkms_oplog_store_where(sg->store);
    if ((ret = wtkms_oplog_store_list(sg->store, &seqs, &n, err)) != 0)
        return (ret);
    last = n > 0 ? seqs[n - 1] : 0;
    free(seqs);
    wtkms_err_clear(&e2);
    hret = wtkms_oplog_store_read_head(sg->store, &head, &e2);
    if (hret != 0 && hret != ENOENT)
        return (wtkms_errf(err, EILSEQ, "%s; run 'wtkms oplog verify --store %s'", e2.msg, where));
    if (hret == 0 && head.seq > last)
        return (wtkms_errf(err, EILSEQ,
          "oplog store %s: its head file names segment %" PRIu64 " but the newest segment present "
          "is %" PRIu64 ": segments were deleted; the tap will not write after them (run 'wtkms "
          "oplog verify --store %s', then start a new store)",
          where, head.seq, last, where));
    if (last == 0) {
        r->empty = true;
        return (0);
    }
    wtkms_seg_name(last, name, sizeof(name));
    if ((ret = wtkms_oplog_store_read(sg->store, last, false, &buf, &len, &file_len, err)) != 0)
        return (ret);
    ret = wtkms_seg_parse_header(buf, len, name, &h, err);
    if (ret == 0 && h.seq != last)
        ret =
          wtkms_errf(err, EILSEQ, "%s holds segment %" PRIu64 ": files were renamed", name, h.seq);
    if (ret == 0 && len != wtkms_seg_file_len(&h))
        ret = wtkms_errf(err, EILSEQ,
          "%s is %zu bytes but its header says %" PRIu64 ": it was truncated or extended", name,
          len, wtkms_seg_file_len(&h));
    if (ret == 0)
        ret = wtkms_sha256(buf, len, digest);
    if (ret == 0)
        ret = authenticate_newest(sg, &h, buf, len, name, err);
    free(buf);
    if (ret != 0)
        return (wtkms_err_prefix(err,
          "oplog store %s: the newest segment is damaged, so the tap cannot continue its chain "
          "(run 'wtkms oplog verify --store %s')",
          where, where));
    if (hret == 0 && head.seq == last && memcmp(head.digest, digest, sizeof(digest)) != 0)
        return (wtkms_errf(err, EILSEQ,
          "oplog store %s: %s is not the segment its head file records: it was replaced (run "
          "'wtkms oplog verify --store %s')",
          where, name, where));
    /*
     * An encrypted chain written by this format (a store of an older wtkms has a head without a
     * MAC until this run's first segment), under the configured key (after a rotation the old
     * key is not configured here: verify checks it). A store's very first segment may have no
     * head yet (a crash between the two writes).
     */
    wtkms_err_clear(&e2);
    if (sg->encrypt && h.format >= 2 && wtkms_kms_check_match(sg->kms, &h.cmk, &e2) == 0 &&
        !(hret == ENOENT && n == 1) && (ret = check_chain_end(sg, err)) != 0)
        return (wtkms_err_prefix(err,
          "oplog store %s: the end of its chain does not authenticate, so the tap will not "
          "continue it",
          where));
    sg->next_seq = last + 1;
    memcpy(sg->prev, digest, sizeof(digest));
    if (h.has_store)
        memcpy(sg->store_id, h.store, sizeof(sg->store_id));
    memcpy(sg->rs, h.rs, sizeof(sg->rs));
    if (h.kind == WTKMS_SEG_ENTRIES) {
        r->ts = h.last_ts;
        r->term = h.last_term;
        r->saved = true;
        sg->last_ts = h.last_ts;
    } else {
        r->ts = h.gap_to;
        r->saved = false;
        r->gap_from = h.gap_from;
        sg->last_ts = h.gap_to - 1;
    }
    return (0);
}

/*
 * may_retry --
 *     After a failed write: whether to write the same bytes again (the caller's retry hook waits).
 */
static bool
may_retry(wtkms_segmenter *sg, int ret, unsigned attempt, const wtkms_err *why)
{
    return (sg->retry != NULL && wtkms_oplog_store_transient(sg->store, ret) &&
            sg->retry(sg->retry_arg, attempt, why));
}

/*
 * write_segment --
 *     Seal the header and body, write the file, then the head file. A sealed segment is written
 *     again byte for byte when a store failure passes (never sealed again: same nonce, same
 *     digest, so a retry of a write that did land is recognised).
 */
static int
write_segment(
  wtkms_segmenter *sg, wtkms_seg_header *h, const uint8_t *plain, size_t plain_len, wtkms_err *err)
{
    wtkms_oplog_head head;
    unsigned attempt;
    int ret;

    memset(&head, 0, sizeof(head));
    h->seq = sg->next_seq;
    memcpy(h->run, sg->run, sizeof(sg->run));
    memcpy(h->store, sg->store_id, sizeof(sg->store_id));
    memcpy(h->rs, sg->rs, sizeof(h->rs));
    h->created_ms = wall_ms();
    memcpy(h->prev, sg->prev, sizeof(sg->prev));
    if (sg->encrypt) {
        h->cmk = sg->cmk;
        memcpy(h->wrapped, sg->wrapped, sg->wrapped_len);
        h->wrapped_len = sg->wrapped_len;
    }
    if (sg->compress_level > 0 && sg->zc == NULL &&
        (ret = wtkms_zc_new(sg->compress_level, &sg->zc)) != 0)
        return (wtkms_errf(err, ret, "cannot set up zstd at level %d", sg->compress_level));
    if ((ret = wtkms_seg_seal(h, sg->gcm, sg->encrypt ? sg->run_key : NULL, sg->zc, plain,
           plain_len, &sg->out, err)) != 0)
        return (ret);
    if ((ret = wtkms_sha256(sg->out.p, sg->out.len, head.digest)) != 0)
        return (wtkms_errf(err, ret, "SHA-256 failed"));
    if (sg->store != NULL) {
        for (attempt = 1;; attempt++) {
            if ((ret = wtkms_oplog_store_write(sg->store, h->seq, sg->out.p, sg->out.len, err)) ==
                0)
                break;
            (void)wtkms_err_prefix(err, "writing oplog segment %" PRIu64, h->seq);
            if (!may_retry(sg, ret, attempt, err))
                return (ret);
        }
        head.format = WTKMS_OPLOG_HEAD_FORMAT;
        head.seq = h->seq;
        memcpy(head.store, sg->store_id, sizeof(head.store));
        memcpy(head.run, sg->run, sizeof(head.run));
        head.has_mac = sg->encrypt;
        if (sg->encrypt && (ret = wtkms_oplog_head_mac(sg->run_key, &head, head.mac)) != 0)
            return (wtkms_errf(err, ret, "cannot compute the oplog head's MAC"));
        for (attempt = 1;; attempt++) {
            if ((ret = wtkms_oplog_store_write_head(sg->store, &head, err)) == 0)
                break;
            (void)wtkms_err_prefix(err, "updating the oplog head after segment %" PRIu64, h->seq);
            if (!may_retry(sg, ret, attempt, err))
                return (ret);
        }
    }
    memcpy(sg->prev, head.digest, sizeof(head.digest));
    sg->next_seq++;
    sg->file_bytes += sg->out.len;
    return (0);
}

/*
 * wtkms_segmenter_flush --
 *     Seal and write the open segment.
 */
int
wtkms_segmenter_flush(wtkms_segmenter *sg, wtkms_err *err)
{
    wtkms_seg_header h;
    char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN], kid[1200];
    int ret;

    if (sg->count == 0)
        return (0);
    memset(&h, 0, sizeof(h));
    h.kind = WTKMS_SEG_ENTRIES;
    h.count = sg->count;
    h.first_ts = sg->first_ts;
    h.last_ts = sg->open_last_ts;
    h.last_term = sg->last_term;
    if ((ret = write_segment(sg, &h, sg->plain.p, sg->plain.len, err)) != 0)
        return (ret);
    sg->segments++;
    if (sg->log != NULL) {
        wtkms_ts_str(h.first_ts, a, sizeof(a));
        wtkms_ts_str(h.last_ts, b, sizeof(b));
        wtkms_seg_key_id(&h, kid, sizeof(kid));
        (void)fprintf(sg->log,
          "wtkms oplog tap: saved segment %" PRIu64 ": %" PRIu64 " entries %s .. %s, %zu bytes, "
          "key %s\n",
          h.seq, h.count, a, b, sg->plain.len, kid);
        (void)fflush(sg->log);
    }
    /* Reused for the next segment; wiped when the segmenter is freed. */
    sg->plain.len = 0;
    sg->count = 0;
    return (0);
}

/*
 * wtkms_segmenter_add --
 *     Append one entry; cut when full.
 */
int
wtkms_segmenter_add(wtkms_segmenter *sg, const uint8_t *doc, size_t len, wtkms_err *err)
{
    wtkms_ts ts;
    int64_t term;
    char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN];
    int ret;

    if (wtkms_oplog_entry_ts(doc, len, &ts, &term) != 0)
        return (wtkms_errf(err, EPROTO,
          "the server sent an oplog entry without a Timestamp \"ts\" (%zu bytes): not an oplog",
          len));
    if (ts <= sg->last_ts && (sg->last_ts != 0 || sg->count != 0 || sg->next_seq > 1)) {
        wtkms_ts_str(ts, a, sizeof(a));
        wtkms_ts_str(sg->last_ts, b, sizeof(b));
        return (wtkms_errf(err, EPROTO,
          "the server sent oplog entry %s after %s: entries must arrive in timestamp order", a, b));
    }
    if ((ret = wtkms_buf_append(&sg->plain, doc, len)) != 0)
        return (wtkms_errf(err, ret, "out of memory buffering oplog entries"));
    if (sg->count == 0) {
        sg->first_ts = ts;
        sg->opened_ms = wtkms_oplog_mono_ms();
    }
    sg->count++;
    sg->open_last_ts = ts;
    sg->last_ts = ts;
    sg->last_term = term;
    sg->entries++;
    sg->plain_bytes += len;
    if (sg->plain.len >= sg->segment_bytes)
        return (wtkms_segmenter_flush(sg, err));
    return (0);
}

/*
 * wtkms_segmenter_due --
 *     Time to cut?
 */
bool
wtkms_segmenter_due(const wtkms_segmenter *sg, int64_t now_ms)
{
    return (sg->count > 0 && now_ms - sg->opened_ms >= sg->segment_ms);
}

/*
 * wtkms_segmenter_gap --
 *     Flush, then a durable gap marker.
 */
int
wtkms_segmenter_gap(wtkms_segmenter *sg, wtkms_ts from, wtkms_ts to, wtkms_err *err)
{
    wtkms_seg_header h;
    int ret;

    if ((ret = wtkms_segmenter_flush(sg, err)) != 0)
        return (ret);
    memset(&h, 0, sizeof(h));
    h.kind = WTKMS_SEG_GAP;
    h.gap_from = from;
    h.gap_to = to;
    h.last_term = -1;
    if ((ret = write_segment(sg, &h, NULL, 0, err)) != 0)
        return (ret);
    sg->gaps++;
    /* The next entry accepted is `to` itself. */
    sg->last_ts = to - 1;
    return (0);
}
