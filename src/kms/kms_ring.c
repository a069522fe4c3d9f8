/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms_ring.c -- the configured provider for a recorded master key, among several configurations
 * (kms_ring.h says how one is chosen).
 */
#include "kms_ring.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_MAX 32 /* configurations plus the keys derived from them */

typedef struct {
    wtkms_kms *kms;
    char origin[600];
    char *ext;
    int base; /* the configuration it was derived from, or -1 */
} ring_entry;

struct wtkms_kms_ring {
    ring_entry e[RING_MAX];
    int n;
    int nconfigured;
};

/* The setting that names the key, for providers whose keys a setting names. */
static const struct {
    const char *provider, *setting;
} key_settings[] = {
    { "aws", "key_id" },
    { "azure", "key_name" },
    { "gcp", "key_name" },
    { "kmip", "key_id" },
};

/*
 * wtkms_kms_ring_new --
 *     An empty ring.
 */
int
wtkms_kms_ring_new(wtkms_kms_ring **ringp, wtkms_err *err)
{
    if ((*ringp = calloc(1, sizeof(**ringp))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    return (0);
}

/*
 * wtkms_kms_ring_free --
 *     Close every provider.
 */
void
wtkms_kms_ring_free(wtkms_kms_ring *ring)
{
    int i;

    if (ring == NULL)
        return;
    for (i = 0; i < ring->n; i++) {
        wtkms_kms_close(ring->e[i].kms);
        free(ring->e[i].ext);
    }
    free(ring);
}

/*
 * ring_put --
 *     Append an entry; the ring owns kms from here.
 */
static int
ring_put(wtkms_kms_ring *ring, wtkms_kms *kms, const char *origin, const char *ext, int base,
  wtkms_err *err)
{
    ring_entry *e;

    if (ring->n == RING_MAX) {
        wtkms_kms_close(kms);
        return (wtkms_errf(err, E2BIG, "more than %d master-key configurations", RING_MAX));
    }
    e = &ring->e[ring->n];
    memset(e, 0, sizeof(*e));
    if (ext != NULL && (e->ext = strdup(ext)) == NULL) {
        wtkms_kms_close(kms);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    e->kms = kms;
    e->base = base;
    (void)snprintf(e->origin, sizeof(e->origin), "%s", origin);
    ring->n++;
    if (base < 0)
        ring->nconfigured++;
    return (0);
}

/*
 * wtkms_kms_ring_add --
 *     Add a configured provider.
 */
int
wtkms_kms_ring_add(
  wtkms_kms_ring *ring, wtkms_kms *kms, const char *origin, const char *ext, wtkms_err *err)
{
    return (ring_put(ring, kms, origin, ext, -1, err));
}

/*
 * wtkms_kms_ring_count --
 *     How many configurations were added.
 */
int
wtkms_kms_ring_count(const wtkms_kms_ring *ring)
{
    return (ring == NULL ? 0 : ring->nconfigured);
}

/*
 * wtkms_kms_ring_first --
 *     The first configuration added.
 */
wtkms_kms *
wtkms_kms_ring_first(const wtkms_kms_ring *ring)
{
    return (ring == NULL || ring->n == 0 ? NULL : ring->e[0].kms);
}

/*
 * key_setting --
 *     The setting that names a key of provider, or NULL (local: a key is a file).
 */
static const char *
key_setting(const char *provider)
{
    size_t i;

    for (i = 0; i < sizeof(key_settings) / sizeof(key_settings[0]); i++)
        if (strcmp(key_settings[i].provider, provider) == 0)
            return (key_settings[i].setting);
    return (NULL);
}

/*
 * ext_settings --
 *     The settings an extension string carries, with its config_file read as the extension
 *     reads it (the file's settings after the string's).
 */
static int
ext_settings(const ring_entry *e, wtkms_config *cfg, wtkms_err *err)
{
    int ret;

    wtkms_config_init(cfg, e->origin);
    if ((ret = wtkms_config_parse(cfg, e->ext, strlen(e->ext), err)) != 0)
        return (ret);
    return (wtkms_config_include(cfg, err));
}

/*
 * not_extension_setting --
 *     config_file: its settings are already in the configuration being formatted.
 */
static bool
not_extension_setting(const char *key)
{
    return (strcmp(key, "config_file") == 0);
}

/*
 * derive --
 *     Configuration base with its key replaced by d's: same credentials, endpoint and region.
 *     Returns 0 with *found set, or 0 with why filled when base cannot reach d's key.
 */
static int
derive(wtkms_kms_ring *ring, int base, const wtkms_kms_desc *d, const char *setting, bool *found,
  char *why, size_t whylen, wtkms_err *err)
{
    wtkms_config cfg;
    wtkms_kms *kms;
    wtkms_err e2;
    char origin[700], *ext;
    int i, ret;

    *found = false;
    kms = NULL;
    ext = NULL;
    wtkms_err_clear(&e2);
    if (ring->e[base].ext == NULL)
        return (0);
    if ((ret = ext_settings(&ring->e[base], &cfg, &e2)) != 0 ||
        (ret = wtkms_config_set(&cfg, setting, d->key_id, &e2)) != 0 ||
        (ret = wtkms_kms_open(&cfg, &kms, &e2)) != 0 ||
        (ret = wtkms_kms_check_match(kms, d, &e2)) != 0) {
        /* Not this configuration's service (another endpoint or region): never followed. */
        if (snprintf(why, whylen, "%s with %s=%s: %s", ring->e[base].origin, setting, d->key_id,
              e2.msg) >= (int)whylen)
            why[whylen - 1] = '\0'; /* cut short: the start names the configuration */
        wtkms_kms_close(kms);
        wtkms_config_free(&cfg);
        return (0);
    }
    /* Every setting the extension was given, also those the provider does not read. */
    for (i = 0; i < cfg.n; i++)
        cfg.items[i].used = true;
    ret = wtkms_config_format(&cfg, not_extension_setting, &ext, err);
    wtkms_config_free(&cfg);
    if (ret != 0) {
        wtkms_kms_close(kms);
        return (ret);
    }
    if (snprintf(origin, sizeof(origin), "%s with %s=%s", ring->e[base].origin, setting,
          d->key_id) >= (int)sizeof(origin))
        origin[sizeof(origin) - 1] = '\0';
    ret = ring_put(ring, kms, origin, ext, base, err);
    free(ext);
    if (ret == 0)
        *found = true;
    return (ret);
}

/*
 * wtkms_kms_ring_find --
 *     The provider for recorded master key d.
 */
int
wtkms_kms_ring_find(wtkms_kms_ring *ring, const wtkms_kms_desc *d, wtkms_kms **kmsp,
  const char **extp, wtkms_err *err)
{
    wtkms_kms_desc cur;
    wtkms_err e2, first;
    const char *setting;
    char name[1200], have[1024], why[1024];
    size_t off;
    bool found;
    int i, ret;

    *kmsp = NULL;
    if (extp != NULL)
        *extp = NULL;
    wtkms_err_clear(&first);
    for (i = 0; i < ring->n; i++) {
        wtkms_err_clear(&e2);
        if (wtkms_kms_check_match(ring->e[i].kms, d, &e2) == 0)
            goto found;
        if (i == 0)
            first = e2;
    }
    why[0] = '\0';
    if ((setting = key_setting(d->provider)) != NULL)
        for (i = 0; i < ring->n; i++) {
            if (ring->e[i].base >= 0 || strcmp(ring->e[i].kms->name, d->provider) != 0)
                continue;
            if ((ret = derive(ring, i, d, setting, &found, why, sizeof(why), err)) != 0)
                return (ret);
            if (found) {
                i = ring->n - 1;
                goto found;
            }
        }
    /* One configuration: its own words for the mismatch ("use the original key file"). */
    if (ring->nconfigured == 1 && why[0] == '\0') {
        *err = first;
        return (first.code);
    }
    wtkms_kms_desc_name(d, name, sizeof(name));
    for (off = 0, have[0] = '\0', i = 0; i < ring->n && off < sizeof(have); i++) {
        if (ring->e[i].base >= 0)
            continue;
        ring->e[i].kms->describe(ring->e[i].kms, &cur);
        off += (size_t)snprintf(have + off, sizeof(have) - off, "%s%s %s (%s)", off > 0 ? "; " : "",
          cur.provider, cur.key_id, ring->e[i].origin);
    }
    return (wtkms_errf(err, EKEYREJECTED,
      "master key %s is not among the configured ones (%s): give its provider settings, e.g. "
      "--key-config FILE, one per master key%s%s",
      name, ring->nconfigured > 0 ? have : "none", why[0] != '\0' ? "; tried " : "", why));
found:
    *kmsp = ring->e[i].kms;
    if (extp != NULL)
        *extp = ring->e[i].ext;
    return (0);
}
