/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_common.c -- the scripted transport and temporary files of the fuzz targets.
 */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "http.h"
#include "kms.h"
#include "secure.h"

int __wrap_wtkms_http_request(
  const wtkms_http_opts *opts, const wtkms_http_req *req, wtkms_http_resp *resp, wtkms_err *err);

static const uint8_t *script;
static size_t script_len, script_off;
static int served;

/*
 * fuzz_answers_set --
 *     Start a new script.
 */
void
fuzz_answers_set(const uint8_t *data, size_t len)
{
    script = data;
    script_len = len;
    script_off = 0;
    served = 0;
}

/*
 * fuzz_answers_used --
 *     Requests served from the current script.
 */
int
fuzz_answers_used(void)
{
    return (served);
}

/*
 * find --
 *     memmem on the script.
 */
static const uint8_t *
find(const uint8_t *p, size_t len, const char *what)
{
    return (memmem(p, len, what, strlen(what)));
}

/*
 * dup_nul --
 *     A NUL-terminated malloc'd copy.
 */
static char *
dup_nul(const uint8_t *p, size_t len)
{
    char *s;

    if ((s = malloc(len + 1)) == NULL)
        abort();
    if (len > 0)
        memcpy(s, p, len);
    s[len] = '\0';
    return (s);
}

/*
 * next_answer --
 *     Cut the next answer off the script: 0, or ENOENT when it is used up.
 */
static int
next_answer(wtkms_http_resp *resp)
{
    const uint8_t *p, *end, *sep, *nl, *blank;
    size_t len;
    long status;

    if (script == NULL || script_off >= script_len)
        return (ENOENT);
    p = script + script_off;
    len = script_len - script_off;
    sep = find(p, len, FUZZ_ANSWER_SEP);
    end = sep != NULL ? sep : p + len;
    script_off = sep != NULL ? (size_t)(sep - script) + strlen(FUZZ_ANSWER_SEP) : script_len;

    /* Status line: up to 3 digits (anything else reads as 200). */
    status = 0;
    while (p < end && *p >= '0' && *p <= '9' && status < 100)
        status = status * 10 + (*p++ - '0');
    if (status == 0)
        status = 200;
    nl = memchr(p, '\n', (size_t)(end - p));
    p = nl != NULL ? nl + 1 : end;

    blank = find(p, (size_t)(end - p), "\n\n");
    memset(resp, 0, sizeof(*resp));
    resp->status = status;
    if (blank != NULL) {
        /* Header lines as http.c keeps them: "Name: value\r\n" each. */
        const uint8_t *h = p;
        size_t cap = (size_t)(blank - p) * 2 + 3, n = 0;
        if ((resp->headers = malloc(cap)) == NULL)
            abort();
        while (h <= blank) {
            const uint8_t *e = memchr(h, '\n', (size_t)(blank + 1 - h));
            memcpy(resp->headers + n, h, (size_t)(e - h));
            n += (size_t)(e - h);
            resp->headers[n++] = '\r';
            resp->headers[n++] = '\n';
            h = e + 1;
        }
        resp->headers[n] = '\0';
        p = blank + 2;
    } else
        resp->headers = dup_nul(NULL, 0);
    resp->body_len = (size_t)(end - p);
    resp->body = dup_nul(p, resp->body_len);
    return (0);
}

/*
 * __wrap_wtkms_http_request --
 *     The transport the providers see: answers from the script, retried as the request's
 *     classifier and opts->max_attempts say (without sleeping), limits as the real one.
 */
int
__wrap_wtkms_http_request(
  const wtkms_http_opts *opts, const wtkms_http_req *req, wtkms_http_resp *resp, wtkms_err *err)
{
    wtkms_http_classify_fn classify;
    size_t max_body;
    int attempt;

    memset(resp, 0, sizeof(*resp));
    if (req->url == NULL || req->method == NULL || req->what == NULL)
        abort(); /* a provider bug the fuzzer should report */
    classify = req->classify != NULL ? req->classify : wtkms_http_classify_default;
    max_body = req->max_body != 0 ? req->max_body : WTKMS_HTTP_MAX_BODY_DEFAULT;
    for (attempt = 1;; attempt++) {
        served++;
        fuzz_note(req->what, req->url);
        if (next_answer(resp) != 0)
            return (
              wtkms_errf(err, ECONNREFUSED, "%s: fuzz script has no more answers", req->what));
        if (resp->body_len > max_body) {
            wtkms_http_resp_free(resp);
            return (wtkms_errf(err, EMSGSIZE, "%s: answer over %zu bytes", req->what, max_body));
        }
        resp->attempts = attempt;
        if (classify(resp, req->classify_arg) != WTKMS_HTTP_RETRY || attempt >= opts->max_attempts)
            return (0);
        wtkms_http_resp_free(resp);
    }
}

static char tmpdir[64];

/*
 * cleanup --
 *     Remove the temporary directory (its files are flat).
 */
static void
cleanup(void)
{
    char cmd[128];

    if (tmpdir[0] != '\0') {
        (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void)system(cmd);
    }
}

/*
 * fuzz_tmpdir --
 *     A private temporary directory, in /dev/shm when there is one.
 */
const char *
fuzz_tmpdir(void)
{
    struct stat sb;

    if (tmpdir[0] != '\0')
        return (tmpdir);
    (void)snprintf(tmpdir, sizeof(tmpdir), "%s/wtkms-fuzz-XXXXXX",
      stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    atexit(cleanup);
    return (tmpdir);
}

/*
 * fuzz_write_file --
 *     Replace DIR/name with data.
 */
const char *
fuzz_write_file(const char *name, const void *data, size_t len)
{
    static char path[8][256];
    static int next;
    char *out = path[next++ % 8];
    int fd;

    (void)snprintf(out, sizeof(path[0]), "%s/%s", fuzz_tmpdir(), name);
    (void)unlink(out);
    if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
        (len > 0 && write(fd, data, len) != (ssize_t)len) || close(fd) != 0) {
        perror(out);
        abort();
    }
    return (out);
}

/*
 * fuzz_local_key_file --
 *     The local provider's key: 32 fixed bytes (seeds made with it stay valid).
 */
const char *
fuzz_local_key_file(void)
{
    static char path[256];
    uint8_t key[32];
    size_t i;

    if (path[0] == '\0') {
        for (i = 0; i < sizeof(key); i++)
            key[i] = (uint8_t)(0xA0 + i);
        (void)snprintf(path, sizeof(path), "%s", fuzz_write_file("master.key", key, sizeof(key)));
    }
    return (path);
}

/*
 * fuzz_provider_roundtrip --
 *     Open, wrap, unwrap through the scripted transport.
 */
int
fuzz_provider_roundtrip(const char *config, const uint8_t *script_data, size_t len,
  const uint8_t *fallback, size_t fallback_len, const char *stored_version)
{
    wtkms_config cfg;
    wtkms_kms *kms;
    wtkms_kms_desc desc;
    wtkms_key *key;
    wtkms_err err;
    uint8_t plain[WTKMS_KEY_LEN], *blob;
    size_t blob_len;
    int got, ret;

    memset(plain, 0x5A, sizeof(plain));
    wtkms_config_init(&cfg, "fuzz config");
    if (wtkms_config_parse(&cfg, config, strlen(config), &err) != 0 ||
        wtkms_kms_open(&cfg, &kms, &err) != 0) {
        /* The configurations are fixed: failing to open one is a harness bug. */
        fprintf(stderr, "fuzz: cannot open %s: %s\n", config, err.msg);
        abort();
    }
    fuzz_answers_set(script_data, len);
    got = 0;
    blob = NULL;
    memset(&desc, 0, sizeof(desc));
    if (kms->wrap(kms, plain, &blob, &blob_len, &desc, &err) == 0) {
        if (blob == NULL || blob_len == 0 || strcmp(desc.provider, kms->name) != 0)
            abort();
        got = 1;
    } else {
        kms->describe(kms, &desc);
        (void)snprintf(desc.key_version, sizeof(desc.key_version), "%s", stored_version);
    }
    key = NULL;
    memset(&err, 0, sizeof(err));
    ret = kms->unwrap(kms, blob != NULL ? blob : fallback, blob != NULL ? blob_len : fallback_len,
      &desc, &key, &err);
    if (ret == 0) {
        if (key == NULL)
            abort();
        got = 2;
        wtkms_key_free(key);
    } else if (key != NULL || err.msg[0] == '\0')
        abort(); /* a failure must leave no key and say why */
    if (getenv("FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "fuzz: %s: %d requests, reached %s%s%s\n", kms->name, served,
          got == 2   ? "unwrap"
          : got == 1 ? "wrap"
                     : "open",
          got == 2 ? "" : ": ", got == 2 ? "" : err.msg);
    free(blob);
    wtkms_kms_close(kms);
    wtkms_config_free(&cfg);
    return (got);
}

/*
 * fuzz_snapshot_key --
 *     The fixed snapshot key of the seeds.
 */
void
fuzz_snapshot_key(uint8_t key[32])
{
    size_t i;

    for (i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x30 + i);
}

/*
 * fuzz_auth_mode --
 *     Skip authentication for inputs whose last byte is odd.
 */
void
fuzz_auth_mode(const uint8_t *data, size_t size)
{
    wtkms_fuzz_skip_auth = size > 0 && (data[size - 1] & 1) != 0;
}

/*
 * fuzz_local_kms --
 *     The local provider over fuzz_local_key_file.
 */
wtkms_kms *
fuzz_local_kms(void)
{
    static wtkms_kms *kms;
    wtkms_config cfg;
    wtkms_err err;

    if (kms != NULL)
        return (kms);
    wtkms_config_init(&cfg, "fuzz config");
    if (wtkms_config_set(&cfg, "provider", "local", &err) != 0 ||
        wtkms_config_set(&cfg, "key_file", fuzz_local_key_file(), &err) != 0 ||
        wtkms_kms_open(&cfg, &kms, &err) != 0) {
        fprintf(stderr, "fuzz: local provider: %s\n", err.msg);
        abort();
    }
    wtkms_config_free(&cfg);
    return (kms);
}

/*
 * fuzz_read_repo_file --
 *     A whole file under fuzz/.
 */
uint8_t *
fuzz_read_repo_file(const char *rel, size_t *lenp)
{
    char path[4096];
    struct stat sb;
    uint8_t *buf;
    int fd;

    (void)snprintf(path, sizeof(path), "%s/%s", WTKMS_FUZZ_DIR, rel);
    if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &sb) != 0 ||
        (buf = malloc((size_t)sb.st_size + 1)) == NULL ||
        read(fd, buf, (size_t)sb.st_size) != (ssize_t)sb.st_size) {
        perror(path);
        abort();
    }
    (void)close(fd);
    *lenp = (size_t)sb.st_size;
    return (buf);
}

/*
 * fuzz_note --
 *     Say how far an input got, when asked.
 */
void
fuzz_note(const char *what, const char *msg)
{
    static int verbose = -1;

    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "fuzz: %s%s%s\n", what, msg != NULL ? ": " : "", msg != NULL ? msg : "");
}
