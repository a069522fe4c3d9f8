/*
 * keys.c -- "wtkms keys ...": local key files, keystore init, status and master-key rotation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "fileio.h"
#include "keystore.h"

#define ROTATION_WARN_DAYS 365

/* "keys usage" lives with the snapshot and oplog stores, which it reads. */
int wtkms_cmd_keys_usage(wtkms_cli *cli) __attribute__((weak));

static const char keys_usage[] =
  "usage:\n"
  "  wtkms keys generate-local --key-file PATH [--base64]\n"
  "  wtkms keys init --home DIR [provider flags]\n"
  "  wtkms keys status --home DIR [--verify] [--json] [provider flags, with --verify]\n"
  "  wtkms keys rotate --home DIR [provider flags] [--new-provider P --new-... | --new-key-file "
  "PATH]\n"
  "  wtkms keys usage KEY --store STORE [--store STORE ...] [--json]\n";

/*
 * cmd_generate_local --
 *     Write 32 random bytes to a new file, mode 600; never overwrite.
 */
static int
cmd_generate_local(wtkms_cli *cli)
{
    wtkms_err err;
    uint8_t key[WTKMS_KEY_LEN];
    char b64[64];
    const char *path, *fmt;
    int fd, ret, len;
    ssize_t n;

    wtkms_err_clear(&err);
    path = wtkms_cli_opt_get(cli, "key-file");
    fmt = wtkms_cli_opt_get(cli, "format");
    if ((ret = wtkms_cli_check_unused(cli, &err)) != 0)
        return (wtkms_cli_fail(cli, &err));
    if (path == NULL) {
        wtkms_errf(&err, EINVAL, "keys generate-local needs --key-file PATH");
        return (wtkms_cli_fail(cli, &err));
    }
    if (fmt != NULL && strcmp(fmt, "raw") != 0 && strcmp(fmt, "base64") != 0) {
        wtkms_errf(&err, EINVAL, "--format must be raw or base64");
        return (wtkms_cli_fail(cli, &err));
    }
    if (wtkms_random_key(key) != 0) {
        wtkms_errf(&err, EIO, "no random bytes from OpenSSL");
        return (wtkms_cli_fail(cli, &err));
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        wtkms_errf(&err, errno, "%s: %s%s", path, strerror(errno),
          errno == EEXIST ? " (refusing to overwrite a key file)" : "");
        wtkms_wipe(key, sizeof(key));
        return (wtkms_cli_fail(cli, &err));
    }
    if (fmt != NULL && strcmp(fmt, "base64") == 0) {
        len = EVP_EncodeBlock((unsigned char *)b64, key, WTKMS_KEY_LEN);
        b64[len++] = '\n';
        n = write(fd, b64, (size_t)len);
        ret = n == len ? 0 : EIO;
        wtkms_wipe(b64, sizeof(b64));
    } else {
        n = write(fd, key, sizeof(key));
        ret = n == (ssize_t)sizeof(key) ? 0 : EIO;
    }
    wtkms_wipe(key, sizeof(key));
    if (ret == 0 && fsync(fd) != 0)
        ret = errno;
    (void)close(fd);
    if (ret != 0) {
        (void)unlink(path);
        wtkms_errf(&err, ret, "%s: cannot write the key file", path);
        return (wtkms_cli_fail(cli, &err));
    }
    if (cli->json) {
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "key_file", path);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else
        (void)printf("wrote a new local master key to %s (mode 600): back it up; data under it "
                     "cannot be read without it\n",
          path);
    return (WTKMS_EXIT_OK);
}

/*
 * cmd_init --
 *     Create the keystore of an empty home.
 */
static int
cmd_init(wtkms_cli *cli)
{
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    char name[1200];
    const char *home;
    struct stat sb;

    wtkms_err_clear(&err);
    if (wtkms_cli_home(cli, &home, &err) != 0 || wtkms_cli_kms(cli, "", &kms, &err) != 0)
        return (wtkms_cli_fail(cli, &err));
    if (stat(home, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        wtkms_kms_close(kms);
        wtkms_errf(&err, ENOENT, "home %s is not a directory: create it first", home);
        return (wtkms_cli_fail(cli, &err));
    }
    if (wtkms_keystore_exists(home)) {
        wtkms_kms_close(kms);
        wtkms_errf(&err, EEXIST, "home %s already has a keystore (%s): not replacing it", home,
          WTKMS_KEYSTORE_FILE);
        return (wtkms_cli_fail(cli, &err));
    }
    if (wtkms_keystore_create(home, kms, &ks, &err) != 0) {
        wtkms_kms_close(kms);
        return (wtkms_cli_fail(cli, &err));
    }
    wtkms_kms_desc_name(&ks->cmk, name, sizeof(name));
    if (cli->json) {
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "keystore", ks->path);
        BSON_APPEND_UTF8(&doc, "master_key", name);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else
        (void)printf("created keystore %s under master key %s\n", ks->path, name);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    return (WTKMS_EXIT_OK);
}

/*
 * cmd_status --
 *     Describe a keystore; with --verify, unlock it (one KMS call) and check its integrity.
 */
static int
cmd_status(wtkms_cli *cli)
{
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    bson_t doc, cmk, arr, sub;
    char t1[32], t2[32], idx[16], name[1200];
    const char *home, *k;
    int64_t age_days;
    uint32_t i, j, nkeyids, count;
    bool verify, overdue, seen;

    wtkms_err_clear(&err);
    kms = NULL;
    verify = wtkms_cli_flag(cli, "verify");
    if (wtkms_cli_home(cli, &home, &err) != 0)
        return (wtkms_cli_fail(cli, &err));
    if (verify ? wtkms_cli_kms(cli, "", &kms, &err) != 0 : wtkms_cli_check_unused(cli, &err) != 0)
        return (wtkms_cli_fail(cli, &err));
    if (wtkms_keystore_load(home, &ks, &err) != 0) {
        wtkms_kms_close(kms);
        return (wtkms_cli_fail(cli, &err));
    }
    if (verify && wtkms_keystore_unlock(ks, kms, &err) != 0) {
        wtkms_keystore_free(ks);
        wtkms_kms_close(kms);
        return (wtkms_cli_fail(cli, &err));
    }
    age_days = (wtkms_now_ms() - ks->rotated) / (86400LL * 1000);
    overdue = age_days > ROTATION_WARN_DAYS;
    wtkms_cli_time(ks->created, t1, sizeof(t1));
    wtkms_cli_time(ks->rotated, t2, sizeof(t2));
    wtkms_kms_desc_name(&ks->cmk, name, sizeof(name));

    bson_init(&doc);
    BSON_APPEND_UTF8(&doc, "keystore", ks->path);
    BSON_APPEND_INT32(&doc, "format_version", WTKMS_KEYSTORE_VERSION);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "master_key", &cmk);
    BSON_APPEND_UTF8(&cmk, "provider", ks->cmk.provider);
    BSON_APPEND_UTF8(&cmk, "key_id", ks->cmk.key_id);
    BSON_APPEND_UTF8(&cmk, "key_version", ks->cmk.key_version);
    BSON_APPEND_UTF8(&cmk, "endpoint", ks->cmk.endpoint);
    BSON_APPEND_UTF8(&cmk, "region", ks->cmk.region);
    bson_append_document_end(&doc, &cmk);
    BSON_APPEND_UTF8(&doc, "created", t1);
    BSON_APPEND_UTF8(&doc, "rotated", t2);
    BSON_APPEND_INT64(&doc, "rotation_age_days", age_days);
    BSON_APPEND_BOOL(&doc, "rotation_overdue", overdue);
    BSON_APPEND_BOOL(&doc, "verified", verify);
    BSON_APPEND_ARRAY_BEGIN(&doc, "keyids", &arr);
    for (i = 0, nkeyids = 0; i < ks->nroots; i++) {
        for (seen = false, j = 0; j < i; j++)
            if (strcmp(ks->roots[j].keyid, ks->roots[i].keyid) == 0)
                seen = true;
        if (seen)
            continue;
        for (count = 0, j = i; j < ks->nroots; j++)
            if (strcmp(ks->roots[j].keyid, ks->roots[i].keyid) == 0)
                count++;
        (void)bson_uint32_to_string(nkeyids++, &k, idx, sizeof(idx));
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &sub);
        BSON_APPEND_UTF8(&sub, "keyid", ks->roots[i].keyid);
        BSON_APPEND_INT32(&sub, "data_keys", (int32_t)count);
        wtkms_cli_time(ks->roots[i].created, t1, sizeof(t1));
        BSON_APPEND_UTF8(&sub, "created", t1);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(&doc, &arr);
    BSON_APPEND_INT32(&doc, "writing_opens", (int32_t)ks->nopens);
    if (ks->nopens > 0) {
        wtkms_cli_time(ks->opens[ks->nopens - 1].created, t1, sizeof(t1));
        BSON_APPEND_UTF8(&doc, "last_writing_open", t1);
    }

    if (cli->json)
        wtkms_cli_print_json(&doc);
    else {
        (void)printf("keystore:      %s (format %d)%s\n", ks->path, WTKMS_KEYSTORE_VERSION,
          verify ? ", integrity verified" : "");
        (void)printf("master key:    %s%s%s%s%s\n", name, ks->cmk.endpoint[0] ? " at " : "",
          ks->cmk.endpoint, ks->cmk.region[0] ? " region " : "", ks->cmk.region);
        wtkms_cli_time(ks->created, t1, sizeof(t1));
        (void)printf("created:       %s\n", t1);
        (void)printf("rotated:       %s (%lld days ago)%s\n", t2, (long long)age_days,
          overdue ? " -- OVERDUE: rotate with 'wtkms keys rotate' (365-day policy)" : "");
        (void)printf("keyids:        %u\n", nkeyids);
        for (i = 0; i < ks->nroots; i++) {
            for (seen = false, j = 0; j < i; j++)
                if (strcmp(ks->roots[j].keyid, ks->roots[i].keyid) == 0)
                    seen = true;
            if (seen)
                continue;
            for (count = 0, j = i; j < ks->nroots; j++)
                if (strcmp(ks->roots[j].keyid, ks->roots[i].keyid) == 0)
                    count++;
            (void)printf(
              "  %-24s %u data key%s\n", ks->roots[i].keyid, count, count == 1 ? "" : "s");
        }
        (void)printf("writing opens: %u\n", ks->nopens);
    }
    bson_destroy(&doc);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    return (WTKMS_EXIT_OK);
}

/*
 * cmd_rotate --
 *     Rewrap the keystore key: one unwrap under the current master key, one wrap under the new.
 */
static int
cmd_rotate(wtkms_cli *cli)
{
    wtkms_keystore *ks;
    wtkms_kms *kms, *newkms;
    wtkms_err err;
    char before[1200], after[1200];
    const char *home;
    int ret;

    wtkms_err_clear(&err);
    kms = newkms = NULL;
    ks = NULL;
    if (wtkms_cli_home(cli, &home, &err) != 0)
        return (wtkms_cli_fail(cli, &err));
    /* The new provider first: its flags are "--new-..."; whatever is left is the current one. */
    if (wtkms_cli_has_prefix(cli, "new-")) {
        if ((ret = wtkms_cli_kms(cli, "new-", &newkms, &err)) != 0)
            return (wtkms_cli_fail(cli, &err));
    }
    if ((ret = wtkms_cli_kms(cli, "", &kms, &err)) != 0)
        goto err;
    if ((ret = wtkms_keystore_load(home, &ks, &err)) != 0 ||
        (ret = wtkms_keystore_unlock(ks, kms, &err)) != 0)
        goto err;
    wtkms_kms_desc_name(&ks->cmk, before, sizeof(before));
    if ((ret = wtkms_keystore_rewrap(ks, newkms != NULL ? newkms : kms, &err)) != 0)
        goto err;
    wtkms_kms_desc_name(&ks->cmk, after, sizeof(after));
    if (cli->json) {
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "keystore", ks->path);
        BSON_APPEND_UTF8(&doc, "from", before);
        BSON_APPEND_UTF8(&doc, "to", after);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else
        (void)printf(
          "rotated %s: master key %s -> %s (no data rewritten)\n", ks->path, before, after);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    wtkms_kms_close(newkms);
    return (WTKMS_EXIT_OK);
err:
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    wtkms_kms_close(newkms);
    return (wtkms_cli_fail(cli, &err));
}

/*
 * wtkms_cmd_keys --
 *     The "keys" group.
 */
int
wtkms_cmd_keys(wtkms_cli *cli)
{
    if (cli->help || cli->command[0] == '\0') {
        (void)fputs(keys_usage, stdout);
        return (WTKMS_EXIT_OK);
    }
    if (strcmp(cli->command, "generate-local") == 0)
        return (cmd_generate_local(cli));
    if (strcmp(cli->command, "init") == 0)
        return (cmd_init(cli));
    if (strcmp(cli->command, "status") == 0)
        return (cmd_status(cli));
    if (strcmp(cli->command, "rotate") == 0)
        return (cmd_rotate(cli));
    if (strcmp(cli->command, "usage") == 0) {
        if (wtkms_cmd_keys_usage == NULL) {
            (void)fprintf(stderr, "wtkms: this build has no 'keys usage' (no snapshot stores)\n");
            return (WTKMS_EXIT_USAGE);
        }
        return (wtkms_cmd_keys_usage(cli));
    }
    (void)fprintf(stderr, "wtkms: unknown command 'keys %s'\n%s", cli->command, keys_usage);
    return (WTKMS_EXIT_USAGE);
}
