/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_common.h -- what the libFuzzer targets in fuzz/ share (never linked into wtkms).
 *
 * Services: a provider reaches its KMS, token endpoint or S3 only through wtkms_http_request.
 * The targets are linked with -Wl,--wrap=wtkms_http_request, so every call from the providers
 * lands in __wrap_wtkms_http_request (fuzz_common.c), which answers from a script cut from the
 * fuzz input: the providers' own code then parses the answers, with nothing copied or stubbed
 * on their side.
 *
 * Script: answers separated by FUZZ_ANSWER_SEP; each answer is a status line ("200"), optional
 * header lines, an empty line, then the body. An answer without an empty line has no headers
 * and the rest is its body. When the script runs out, the service is "unreachable".
 */
#ifndef WTKMS_FUZZ_COMMON_H
#define WTKMS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_ANSWER_SEP "\n=====\n"

/* Use data[0..len) as the script of answers for the calls that follow. */
void fuzz_answers_set(const uint8_t *data, size_t len);
/* How many requests the last script served. */
int fuzz_answers_used(void);

/* A private directory in a tmpfs (made once per process, removed at exit). */
const char *fuzz_tmpdir(void);
/* Write data to DIR/name (mode 0600), replacing it; returns the path (static buffer per name). */
const char *fuzz_write_file(const char *name, const void *data, size_t len);

/* A fixed 32-byte key, as the local provider's key file (made once): its path. */
const char *fuzz_local_key_file(void);

#endif

/*
 * Open the provider that the configuration text names, then wrap a fixed key and unwrap what
 * came back (or, when wrap failed, the fallback blob recorded under stored_version), every
 * service answer taken from script. Returns how far it got: 0 opened, 1 wrapped, 2 unwrapped
 * (and checked that the unwrapped key is 32 bytes of something), -1 not opened.
 */
int fuzz_provider_roundtrip(const char *config, const uint8_t *script, size_t len,
  const uint8_t *fallback, size_t fallback_len, const char *stored_version);

/* The snapshot the manifest and chunk seeds belong to (fuzz/seedgen.c). */
#define FUZZ_SNAP_ID "20261202T000000Z-0f0e0d0c"
#define FUZZ_SNAP_CHUNK 512           /* the objects' (chunk.c takes any size) */
#define FUZZ_SNAP_MANIFEST_CHUNK 4096 /* the manifests' (their smallest) */
/* Its snapshot key: fixed bytes. */
void fuzz_snapshot_key(uint8_t key[32]);

/*
 * Whether this input runs with authentication skipped (wtkms_fuzz_skip_auth, crypto.h): decided
 * by the low bit of its last byte, so the same input always runs the same way and the fuzzer
 * explores both the checks and the code after them.
 */
void fuzz_auth_mode(const uint8_t *data, size_t size);

/* The local provider with the fixed key (opened once). */
struct wtkms_kms *fuzz_local_kms(void);

/* A file of fuzz/ (WTKMS_FUZZ_DIR), read whole: malloc'd, or abort. */
uint8_t *fuzz_read_repo_file(const char *rel, size_t *lenp);

/* With FUZZ_VERBOSE set in the environment: print how far an input got (seed checking). */
void fuzz_note(const char *what, const char *msg);
