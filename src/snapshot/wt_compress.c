/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wt_compress.c -- find WiredTiger's compressor extensions for opening a home.
 *
 * WiredTiger's compressors are extensions, installed beside the library as
 * libwiredtiger_NAME.so: Debian's libwiredtiger0 ships snappy and zlib beside libwiredtiger.so.0,
 * and scripts/build-wt-compressors.sh puts snappy, zlib and zstd beside a line built here. A home
 * whose journal or tables are compressed (mongod journals with snappy by default) opens only with
 * that compressor loaded, so `snapshot create` loads every one it finds beside the libwiredtiger
 * it runs: the same line, found through dladdr, as the loader found the library.
 */
#define _GNU_SOURCE
#include "wt_compress.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wiredtiger.h>

#include "source.h"

static const char *const compressors[] = { "snappy", "zlib", "zstd", "lz4", NULL };

/*
 * wt_libdir --
 *     The directory of the libwiredtiger this program runs.
 */
static int
wt_libdir(char *out, size_t outlen, wtkms_err *err)
{
    Dl_info info;
    char real[PATH_MAX], *slash;
    const char *path;

    if (dladdr((void *)wiredtiger_open, &info) == 0 || info.dli_fname == NULL)
        return (wtkms_errf(err, ENOENT, "cannot find which libwiredtiger this program runs"));
    path = realpath(info.dli_fname, real) != NULL ? real : info.dli_fname;
    if (snprintf(out, outlen, "%s", path) >= (int)outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "%s: path too long", path));
    if ((slash = strrchr(out, '/')) == NULL)
        return (wtkms_errf(err, ENOENT, "libwiredtiger %s has no directory", path));
    *slash = '\0';
    return (0);
}

/*
 * named_compressor --
 *     The value of the next compressor=NAME (or block_compressor=NAME) in *cursor, into name;
 *     false when there is none left.
 */
static bool
named_compressor(const char **cursor, char *name, size_t namelen)
{
    const char *p, *v;
    size_t n;

    if (*cursor == NULL || (p = strstr(*cursor, "compressor=")) == NULL)
        return (false);
    v = p + strlen("compressor=");
    if (*v == '"')
        v++;
    for (n = 0; v[n] != '\0' && v[n] != '"' && v[n] != ',' && v[n] != ')' && v[n] != ']'; n++)
        ;
    if (n >= namelen)
        n = namelen - 1;
    memcpy(name, v, n);
    name[n] = '\0';
    *cursor = v + n;
    return (true);
}

/*
 * wtkms_wt_compressors --
 *     The compressor extensions beside libwiredtiger, as extensions=[...] entries.
 */
int
wtkms_wt_compressors(const char *wt_config, char *out, size_t outlen, wtkms_err *err)
{
    char dir[PATH_MAX], path[PATH_MAX + 64], name[64];
    const char *cursor;
    bool found[sizeof(compressors) / sizeof(compressors[0])];
    size_t len;
    int i, ret;

    out[0] = '\0';
    if ((ret = wt_libdir(dir, sizeof(dir), err)) != 0)
        return (ret);
    len = 0;
    for (i = 0; compressors[i] != NULL; i++) {
        (void)snprintf(path, sizeof(path), "%s/libwiredtiger_%s.so", dir, compressors[i]);
        if (!(found[i] = access(path, R_OK) == 0))
            continue;
        if (strchr(path, '"') != NULL)
            return (wtkms_errf(err, EINVAL, "compressor path %s may not contain '\"'", path));
        ret = snprintf(out + len, outlen - len, "%s%s%s%s", len > 0 ? "," : "",
          wtkms_snap_needs_quotes(path) ? "\"" : "", path,
          wtkms_snap_needs_quotes(path) ? "\"" : "");
        if (ret < 0 || (size_t)ret >= outlen - len)
            return (wtkms_errf(err, ENAMETOOLONG, "the compressor extension paths are too long"));
        len += (size_t)ret;
    }
    for (cursor = wt_config; named_compressor(&cursor, name, sizeof(name));) {
        if (name[0] == '\0' || strcmp(name, "none") == 0)
            continue;
        for (i = 0; compressors[i] != NULL && strcmp(compressors[i], name) != 0; i++)
            ;
        if (compressors[i] == NULL)
            return (wtkms_errf(err, EINVAL,
              "--wt-config names compressor '%s', which is not one of WiredTiger's (snappy, zlib, "
              "zstd, lz4): list its extension in --wt-config as extensions=[...], with "
              "libwtkms.so=(config=(...)) beside it",
              name));
        if (!found[i])
            return (wtkms_errf(err, EINVAL,
              "--wt-config names compressor '%s', but WiredTiger's %s extension is not beside the "
              "libwiredtiger this command runs (%s/libwiredtiger_%s.so): install it (Debian's "
              "libwiredtiger0 ships snappy and zlib; scripts/build-wt-compressors.sh builds them "
              "for a WiredTiger built from source), or list it in --wt-config as extensions=[...], "
              "with libwtkms.so=(config=(...)) beside it",
              name, name, dir, name));
    }
    return (0);
}

/*
 * wtkms_wt_extensions --
 *     wtkms and the compressors, as the extensions=[...] of an open.
 */
int
wtkms_wt_extensions(const char *wt_config, bool with_wtkms, const char *local_entry,
  const char *ext_path, const char *ext_config, char *out, size_t outlen, wtkms_err *err)
{
    char path[4096], ent[4096 + 1024], comp[4096];
    int ret;

    out[0] = ent[0] = comp[0] = '\0';
    if (wt_config != NULL && strstr(wt_config, "extensions=") != NULL)
        return (0);
    if ((ret = wtkms_wt_compressors(wt_config, comp, sizeof(comp), err)) != 0)
        return (ret);
    if (with_wtkms && local_entry != NULL)
        (void)snprintf(ent, sizeof(ent), "local=(entry=%s)", local_entry);
    else if (with_wtkms) {
        if (ext_path != NULL)
            (void)snprintf(path, sizeof(path), "%s", ext_path);
        else if ((ret = wtkms_snap_default_ext_path(path, sizeof(path), err)) != 0)
            return (ret);
        if (strchr(path, '"') != NULL)
            return (wtkms_errf(err, EINVAL, "extension path %s may not contain '\"'", path));
        if (snprintf(ent, sizeof(ent), "%s%s%s=(config=(%s%screate=false))",
              wtkms_snap_needs_quotes(path) ? "\"" : "", path,
              wtkms_snap_needs_quotes(path) ? "\"" : "", ext_config != NULL ? ext_config : "",
              ext_config != NULL && ext_config[0] != '\0' ? "," : "") >= (int)sizeof(ent))
            return (wtkms_errf(err, ENAMETOOLONG, "the extension configuration is too long"));
    }
    if ((ent[0] != '\0' || comp[0] != '\0') &&
        snprintf(out, outlen, "extensions=[%s%s%s],", ent,
          ent[0] != '\0' && comp[0] != '\0' ? "," : "", comp) >= (int)outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "the extension configuration is too long"));
    return (0);
}
