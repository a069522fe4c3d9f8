/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms_ring.h -- several master-key configurations at once, for reading what was written across a
 * rotation: a snapshot under the old master key and oplog segments under the new one.
 *
 * Each snapshot, keystore and segment records the master key it depends on (a wtkms_kms_desc).
 * wtkms_kms_ring_find returns the configured provider for a recorded key:
 *   1. a configuration whose key it is (wtkms_kms_check_match, before any credential is used);
 *   2. else, for providers whose keys are named by a setting (aws key_id, azure key_name, gcp
 *      key_name, kmip key_id), a configuration of the same provider with that one setting
 *      replaced by the recorded key: the credentials, endpoint and region stay the configured
 *      ones, so a record naming another endpoint is refused, never followed;
 *   3. else an error naming the recorded key and how to configure it (--key-config FILE).
 * A local key is a file; its record holds only a fingerprint, so each local key needs its own
 * configuration.
 */
#ifndef WTKMS_KMS_RING_H
#define WTKMS_KMS_RING_H

#include "config.h"
#include "err.h"
#include "kms.h"

typedef struct wtkms_kms_ring wtkms_kms_ring;

int wtkms_kms_ring_new(wtkms_kms_ring **ringp, wtkms_err *err);
void wtkms_kms_ring_free(wtkms_kms_ring *ring);

/*
 * Add a provider (the ring owns it from here, also on error). origin names it in messages
 * ("--key-config /etc/wtkms-old.conf"); ext is the extension's config=(...) contents for a home
 * under this key, key="value" pairs or config_file="PATH": the provider's settings, which step 2
 * copies with the key replaced.
 */
int wtkms_kms_ring_add(
  wtkms_kms_ring *ring, wtkms_kms *kms, const char *origin, const char *ext, wtkms_err *err);

/* How many configurations were added; the first one added (NULL when none). */
int wtkms_kms_ring_count(const wtkms_kms_ring *ring);
wtkms_kms *wtkms_kms_ring_first(const wtkms_kms_ring *ring);

/*
 * The provider for recorded key d (owned by the ring), and the extension settings for a home
 * under it (*extp may be NULL when not wanted or not known).
 */
int wtkms_kms_ring_find(wtkms_kms_ring *ring, const wtkms_kms_desc *d, wtkms_kms **kmsp,
  const char **extp, wtkms_err *err);

#endif
