/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.c -- "wtkms keys ...": local key files, keystore init, status and master-key rotation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "cli.h"
#include "clock.h"
#include "crypto.h"
#include "fileio.h"
#include "keystore.h"

static const char keys_usage[] =
  "usage:\n"
  "  wtkms keys generate-local --key-file PATH [--base64]\n"
  "  wtkms keys init --home DIR [provider flags]\n"
  "  wtkms keys status --home DIR [--check] [--rotation-alert-days N] [--verify] [--json]\n"
  "                   [provider flags, with --verify]\n"
  "  wtkms keys rotate --home DIR [provider flags] [--new-provider P --new-... | --new-key-file "
  "PATH]\n"
  "  wtkms keys add-master-key --home DIR [provider flags] --new-provider P --new-...\n"
  "  wtkms keys remove-master-key KEY --home DIR [provider flags]\n"
  "  wtkms keys compact --home DIR [--scan DIR ...] [--dry-run] [provider flags]\n"
  "  wtkms keys usage KEY [--store STORE ...] [--home DIR ...] [--json]\n";

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
        (void)wtkms_b64_encode(key, WTKMS_KEY_LEN, false, b64, sizeof(b64));
        len = (int)strlen(b64);
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
    wtkms_kms_desc_name(&ks->wraps[0].cmk, name, sizeof(name));
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
 * alert_days --
 *     The rotation-alert threshold: --rotation-alert-days, else rotation_alert_days in the
 *     --config file, else 365. 0 turns the alert off.
 */
static int
alert_days(wtkms_cli *cli, unsigned long *daysp, wtkms_err *err)
{
    wtkms_config cfg;
    const char *v;
    int ret;

    if ((v = wtkms_cli_opt_get(cli, "rotation-alert-days")) != NULL) {
        wtkms_config_init(&cfg, "--rotation-alert-days");
        ret = wtkms_config_set(&cfg, "rotation_alert_days", v, err);
    } else {
        wtkms_config_init(&cfg, "defaults");
        ret = cli->config_file != NULL ? wtkms_config_parse_file(&cfg, cli->config_file, err) : 0;
    }
    if (ret == 0)
        ret = wtkms_config_uint(
          &cfg, "rotation_alert_days", WTKMS_ROTATION_ALERT_DAYS, 0, 36500, daysp, err);
    wtkms_config_free(&cfg);
    return (ret);
}

/*
 * count_keyid --
 *     Whether root i is its keyid's first, and how many data keys the keyid has.
 */
static bool
count_keyid(const wtkms_keystore *ks, uint32_t i, uint32_t *countp)
{
    uint32_t j;

    for (j = 0; j < i; j++)
        if (strcmp(ks->roots[j].keyid, ks->roots[i].keyid) == 0)
            return (false);
    for (*countp = 0, j = i; j < ks->nroots; j++)
        if (strcmp(ks->roots[j].keyid, ks->roots[i].keyid) == 0)
            (*countp)++;
    return (true);
}

/*
 * status_doc --
 *     The status of a keystore as a document (the --json shape).
 */
static void
status_doc(const wtkms_keystore *ks, unsigned long days, bool verified, int64_t now, bson_t *doc)
{
    bson_t arr, sub;
    char t[32], idx[16];
    const char *k;
    int64_t age, oldest;
    uint32_t i, n, count;

    age = wtkms_keystore_rotation_age_days(ks, now);
    oldest = now;
    bson_init(doc);
    BSON_APPEND_UTF8(doc, "keystore", ks->path);
    BSON_APPEND_INT32(doc, "format_version", ks->file_version);
    BSON_APPEND_INT64(doc, "generation", (int64_t)ks->gen);
    wtkms_kms_desc_append(doc, "master_key", &ks->wraps[0].cmk);
    BSON_APPEND_ARRAY_BEGIN(doc, "master_keys", &arr);
    for (i = 0; i < ks->nwraps; i++) {
        const wtkms_ks_wrap *w = &ks->wraps[i];
        (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &sub);
        wtkms_kms_desc_append(&sub, "key", &w->cmk);
        wtkms_iso_time(w->since, t, sizeof(t));
        BSON_APPEND_UTF8(&sub, "rotated", t);
        wtkms_iso_time(w->wrapped, t, sizeof(t));
        BSON_APPEND_UTF8(&sub, "wrapped", t);
        BSON_APPEND_INT64(&sub, "rotation_age_days", (now - w->since) / (86400LL * 1000));
        bson_append_document_end(&arr, &sub);
        if (w->since < oldest)
            oldest = w->since;
    }
    bson_append_array_end(doc, &arr);
    wtkms_iso_time(ks->created, t, sizeof(t));
    BSON_APPEND_UTF8(doc, "created", t);
    wtkms_iso_time(oldest, t, sizeof(t));
    BSON_APPEND_UTF8(doc, "rotated", t);
    BSON_APPEND_INT64(doc, "rotation_age_days", age);
    BSON_APPEND_INT64(doc, "rotation_alert_days", (int64_t)days);
    BSON_APPEND_BOOL(doc, "rotation_overdue", days > 0 && age > (int64_t)days);
    BSON_APPEND_BOOL(doc, "verified", verified);
    BSON_APPEND_ARRAY_BEGIN(doc, "keyids", &arr);
    for (i = 0, n = 0; i < ks->nroots; i++) {
        if (!count_keyid(ks, i, &count))
            continue;
        (void)bson_uint32_to_string(n++, &k, idx, sizeof(idx));
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &sub);
        BSON_APPEND_UTF8(&sub, "keyid", ks->roots[i].keyid);
        BSON_APPEND_INT32(&sub, "data_keys", (int32_t)count);
        wtkms_iso_time(ks->roots[i].created, t, sizeof(t));
        BSON_APPEND_UTF8(&sub, "created", t);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(doc, &arr);
    BSON_APPEND_INT32(doc, "writing_opens", (int32_t)ks->nopens);
    if (ks->nopens > 0) {
        wtkms_iso_time(ks->opens[ks->nopens - 1].created, t, sizeof(t));
        BSON_APPEND_UTF8(doc, "last_writing_open", t);
    }
}

/*
 * status_text --
 *     The status of a keystore for a person.
 */
static void
status_text(const wtkms_keystore *ks, unsigned long days, bool verified, int64_t now)
{
    const wtkms_kms_desc *d;
    char t[32], name[1200];
    int64_t age;
    uint32_t i, count, nkeyids;

    (void)printf("keystore:      %s (format %d, generation %llu)%s\n", ks->path, ks->file_version,
      (unsigned long long)ks->gen, verified ? ", integrity verified" : "");
    for (i = 0; i < ks->nwraps; i++) {
        d = &ks->wraps[i].cmk;
        wtkms_kms_desc_name(d, name, sizeof(name));
        age = (now - ks->wraps[i].since) / (86400LL * 1000);
        wtkms_iso_time(ks->wraps[i].since, t, sizeof(t));
        (void)printf("master key:    %s%s%s%s%s\n", name, d->endpoint[0] ? " at " : "", d->endpoint,
          d->region[0] ? " region " : "", d->region);
        (void)printf("rotated:       %s (%lld days ago)%s\n", t, (long long)age,
          days > 0 && age > (int64_t)days ? " -- OVERDUE: rotate with 'wtkms keys rotate'" : "");
    }
    if (days > 0)
        (void)printf("rotation alert: past %lu days\n", days);
    else
        (void)printf("rotation alert: off\n");
    wtkms_iso_time(ks->created, t, sizeof(t));
    (void)printf("created:       %s\n", t);
    for (i = 0, nkeyids = 0; i < ks->nroots; i++)
        if (count_keyid(ks, i, &count))
            nkeyids++;
    (void)printf("keyids:        %u\n", nkeyids);
    for (i = 0; i < ks->nroots; i++)
        if (count_keyid(ks, i, &count))
            (void)printf(
              "  %-24s %u data key%s\n", ks->roots[i].keyid, count, count == 1 ? "" : "s");
    (void)printf("writing opens: %u\n", ks->nopens);
}

/*
 * cmd_status --
 *     Describe a keystore; with --verify, unlock it (one KMS call) and check its integrity; with
 *     --check, exit 8 when rotation is overdue.
 */
static int
cmd_status(wtkms_cli *cli)
{
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    bson_t doc;
    const char *home;
    unsigned long days;
    int64_t now;
    bool verify, check, overdue;

    wtkms_err_clear(&err);
    kms = NULL;
    verify = wtkms_cli_flag(cli, "verify");
    check = wtkms_cli_flag(cli, "check");
    if (wtkms_cli_home(cli, &home, &err) != 0 || alert_days(cli, &days, &err) != 0)
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
    now = wtkms_now_ms();
    overdue = days > 0 && wtkms_keystore_rotation_age_days(ks, now) > (int64_t)days;
    if (cli->json) {
        status_doc(ks, days, verify, now, &doc);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else
        status_text(ks, days, verify, now);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    return (check && overdue ? WTKMS_EXIT_OVERDUE : WTKMS_EXIT_OK);
}

/*
 * wtkms_keys_open_current --
 *     Load the home's keystore and unlock it with the configured (current) master key. The new
 *     provider's "--new-..." flags, when wanted, are taken first.
 */
int
wtkms_keys_open_current(wtkms_cli *cli, bool want_new, wtkms_keystore **ksp, uint32_t *wrapp,
  wtkms_kms **kmsp, wtkms_kms **newkmsp, wtkms_err *err)
{
    const char *home;
    int ret;

    *ksp = NULL;
    *kmsp = NULL;
    if (newkmsp != NULL)
        *newkmsp = NULL;
    if ((ret = wtkms_cli_home(cli, &home, err)) != 0)
        return (ret);
    if (want_new && wtkms_cli_has_prefix(cli, "new-") &&
        (ret = wtkms_cli_kms(cli, "new-", newkmsp, err)) != 0)
        return (ret);
    if ((ret = wtkms_cli_kms(cli, "", kmsp, err)) != 0 ||
        (ret = wtkms_keystore_load(home, ksp, err)) != 0 ||
        (ret = wtkms_keystore_unlock_wrap(*ksp, *kmsp, wrapp, err)) != 0)
        return (ret);
    return (0);
}

/*
 * print_change --
 *     What a master-key change did, as text or JSON.
 */
static void
print_change(wtkms_cli *cli, const wtkms_keystore *ks, const char *verb, const char *from,
  const char *to, const char *text)
{
    bson_t doc = BSON_INITIALIZER;

    if (!cli->json) {
        (void)printf("%s\n", text);
        return;
    }
    BSON_APPEND_UTF8(&doc, "keystore", ks->path);
    BSON_APPEND_UTF8(&doc, "action", verb);
    if (from != NULL)
        BSON_APPEND_UTF8(&doc, "from", from);
    if (to != NULL)
        BSON_APPEND_UTF8(&doc, "to", to);
    BSON_APPEND_INT64(&doc, "generation", (int64_t)ks->gen);
    wtkms_cli_print_json(&doc);
    bson_destroy(&doc);
}

/*
 * find_named_wrap --
 *     The wrapping whose master key a name (as status prints it, or a bare key id) denotes.
 */
static int
find_named_wrap(const wtkms_keystore *ks, const char *key, uint32_t *wrapp, wtkms_err *err)
{
    char name[1200];
    uint32_t i;

    for (i = 0; i < ks->nwraps; i++) {
        wtkms_kms_desc_name(&ks->wraps[i].cmk, name, sizeof(name));
        if (strcmp(name, key) == 0 || strcmp(ks->wraps[i].cmk.key_id, key) == 0) {
            *wrapp = i;
            return (0);
        }
    }
    return (wtkms_errf(err, ENOENT,
      "keystore %s is not wrapped under %s: 'wtkms keys status' lists its master keys", ks->path,
      key));
}

/*
 * cmd_rotate --
 *     Rewrap the keystore key: one unwrap under the current master key, one wrap under the new,
 *     then one locked read-modify-write that replaces that master key's wrapping. Safe while the
 *     home is open: a running process merges the new wrapping at its next keystore write.
 */
static int
cmd_rotate(wtkms_cli *cli)
{
    wtkms_keystore *ks;
    wtkms_kms *kms, *newkms;
    wtkms_err err;
    char before[1200], after[1200], text[4096 + 2600];
    uint32_t newest, wrap;
    int ret;

    wtkms_err_clear(&err);
    if ((ret = wtkms_keys_open_current(cli, true, &ks, &wrap, &kms, &newkms, &err)) != 0)
        goto err;
    wtkms_kms_desc_name(&ks->wraps[wrap].cmk, before, sizeof(before));
    if ((ret = wtkms_keystore_rewrap(ks, wrap, newkms != NULL ? newkms : kms, &err)) != 0)
        goto err;
    /* The merged file may order its wrappings differently: the new one is the newest. */
    for (newest = 0, wrap = 1; wrap < ks->nwraps; wrap++)
        if (ks->wraps[wrap].wrapped > ks->wraps[newest].wrapped)
            newest = wrap;
    wtkms_kms_desc_name(&ks->wraps[newest].cmk, after, sizeof(after));
    (void)snprintf(text, sizeof(text), "rotated %s: master key %s -> %s (no data rewritten)",
      ks->path, before, after);
    print_change(cli, ks, "rotate", before, after, text);
    ret = 0;
err:
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    wtkms_kms_close(newkms);
    return (ret == 0 ? WTKMS_EXIT_OK : wtkms_cli_fail(cli, &err));
}

/*
 * cmd_add_master_key --
 *     Wrap the keystore key under one more master key (another provider or region): either then
 *     opens the home.
 */
static int
cmd_add_master_key(wtkms_cli *cli)
{
    wtkms_keystore *ks;
    wtkms_kms *kms, *newkms;
    wtkms_err err;
    char added[1200], text[4096 + 1300];
    int ret;

    wtkms_err_clear(&err);
    if ((ret = wtkms_keys_open_current(cli, true, &ks, NULL, &kms, &newkms, &err)) != 0)
        goto err;
    if (newkms == NULL) {
        ret = wtkms_errf(&err, EINVAL,
          "keys add-master-key needs the new master key as --new-provider P --new-... flags "
          "(or --new-key-file PATH for a local key)");
        goto err;
    }
    if ((ret = wtkms_keystore_add_wrap(ks, newkms, &err)) != 0)
        goto err;
    wtkms_kms_desc_name(&ks->wraps[ks->nwraps - 1].cmk, added, sizeof(added));
    (void)snprintf(text, sizeof(text),
      "added master key %s to %s: either of its %u master keys now opens the home", added, ks->path,
      ks->nwraps);
    print_change(cli, ks, "add", NULL, added, text);
err:
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    wtkms_kms_close(newkms);
    return (ret == 0 ? WTKMS_EXIT_OK : wtkms_cli_fail(cli, &err));
}

/*
 * cmd_remove_master_key --
 *     Remove one master key's wrapping (never the last one).
 */
static int
cmd_remove_master_key(wtkms_cli *cli)
{
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    char text[4096 + 1300];
    const char *key;
    uint32_t wrap = 0;
    int ret;

    wtkms_err_clear(&err);
    ks = NULL;
    kms = NULL;
    if (cli->nargs != 1) {
        ret = wtkms_errf(&err, EINVAL,
          "keys remove-master-key needs the key to remove, as 'wtkms keys status' names it");
        goto err;
    }
    key = cli->args[0];
    if ((ret = wtkms_keys_open_current(cli, false, &ks, NULL, &kms, NULL, &err)) != 0 ||
        (ret = find_named_wrap(ks, key, &wrap, &err)) != 0 ||
        (ret = wtkms_keystore_remove_wrap(ks, wrap, &err)) != 0)
        goto err;
    (void)snprintf(text, sizeof(text), "removed master key %s from %s", key, ks->path);
    print_change(cli, ks, "remove", key, NULL, text);
err:
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    return (ret == 0 ? WTKMS_EXIT_OK : wtkms_cli_fail(cli, &err));
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
    if (strcmp(cli->command, "add-master-key") == 0)
        return (cmd_add_master_key(cli));
    if (strcmp(cli->command, "remove-master-key") == 0)
        return (cmd_remove_master_key(cli));
    if (strcmp(cli->command, "compact") == 0)
        return (wtkms_cmd_keys_compact(cli));
    if (strcmp(cli->command, "usage") == 0)
        return (wtkms_cmd_keys_usage(cli));
    (void)fprintf(stderr, "wtkms: unknown command 'keys %s'\n%s", cli->command, keys_usage);
    return (WTKMS_EXIT_USAGE);
}
