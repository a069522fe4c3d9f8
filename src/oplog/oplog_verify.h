/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_verify.h -- check a whole oplog store offline: every segment decrypted, every link of the
 * chain.
 */
#ifndef WTKMS_OPLOG_VERIFY_H
#define WTKMS_OPLOG_VERIFY_H

#include "oplog_catalog.h"

typedef struct {
    uint64_t seq; /* the segment the problem is about (0: the store) */
    char problem[1024];
} wtkms_oplog_problem;

typedef struct {
    uint64_t segments, gaps, entries, bytes;
    wtkms_ts first, last;
    wtkms_oplog_problem *problems;
    size_t nproblems;
} wtkms_oplog_verify_report;

/*
 * Verify every segment and the chain. Problems found (missing, reordered, altered, truncated
 * segments, a broken link) go into the report and the check goes on. Returns 0 when the check ran
 * to the end, or the error that stopped it: the master key unavailable or refused (the provider's
 * reason), or the store unreadable. The ends of the chain are checked as by
 * wtkms_oplog_check_ends (expect_last, 0 for none).
 */
int wtkms_oplog_verify(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts expect_last,
  wtkms_oplog_verify_report *rep, wtkms_err *err);
void wtkms_oplog_verify_report_free(wtkms_oplog_verify_report *rep);

/*
 * The ends of the chain, which segment links alone cannot protect: the head file must name the
 * newest segment (or, after a crash between the two writes, the one before it) by its digest,
 * the store id of the segments and, with a master key configured, carry a MAC under the run key
 * of that segment (a cut tail, a replaced head and a segment moved in from another store show
 * here). expect_last (0: none) is a record kept elsewhere: the newest entry saved must be at or
 * after it, which is what catches a head rolled back to an earlier genuine one, or a store
 * emptied. With rep, problems are added to it; without, the first is returned (EBADMSG).
 */
int wtkms_oplog_check_ends(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts expect_last,
  wtkms_oplog_verify_report *rep, wtkms_err *err);

#endif
