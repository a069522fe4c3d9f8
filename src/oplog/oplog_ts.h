/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_ts.h -- oplog timestamps: parsing, printing, and finding "ts" in a raw oplog entry.
 *
 * A BSON Timestamp is (seconds, increment); as a 64-bit number (seconds << 32 | increment) it
 * orders exactly as MongoDB orders oplog entries, so the tap and the readers compare plain
 * integers.
 */
#ifndef WTKMS_OPLOG_TS_H
#define WTKMS_OPLOG_TS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef uint64_t wtkms_ts;

#define WTKMS_TS(secs, inc) (((uint64_t)(uint32_t)(secs) << 32) | (uint32_t)(inc))
#define WTKMS_TS_SECS(ts) ((uint32_t)((ts) >> 32))
#define WTKMS_TS_INC(ts) ((uint32_t)((ts)&0xffffffffu))
#define WTKMS_TS_MAX UINT64_MAX

/* "secs:inc" and "secs:inc (2024-05-01T12:00:00Z)": buffers of this size always suffice. */
#define WTKMS_TS_STRLEN 64

/*
 * Parse a timestamp given on the command line: "SECS:INC", "SECS" (meaning SECS:0), or an
 * ISO-8601 UTC time "YYYY-MM-DDTHH:MM:SSZ" (meaning that second, increment 0). what names the
 * flag in the error.
 */
int wtkms_ts_parse(const char *s, const char *what, wtkms_ts *tsp, wtkms_err *err);

/* "SECS:INC". */
void wtkms_ts_str(wtkms_ts ts, char *out, size_t outlen);
/* "SECS:INC (ISO time)". */
void wtkms_ts_str_long(wtkms_ts ts, char *out, size_t outlen);

/*
 * Find the top-level "ts" (a Timestamp) and "t" (the term, an int64, -1 when absent) of a raw
 * oplog entry. Validates the document's framing only as far as needed. Returns 0, or EILSEQ when
 * the document is not BSON or has no Timestamp "ts".
 */
int wtkms_oplog_entry_ts(const uint8_t *doc, size_t len, wtkms_ts *tsp, int64_t *termp);

#endif
