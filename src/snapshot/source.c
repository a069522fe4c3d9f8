/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.c -- list and hold a home's files for a snapshot: a WiredTiger backup cursor, or every
 * file of a stopped or fsync-locked mongod.
 */
#define _GNU_SOURCE
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wiredtiger.h>

#include "fileio.h"
#include "keystore.h"
#include "snaputil.h"
#include "wt_compress.h"
#include "wt_events.h"

typedef struct {
    wtkms_wt_events h;
    WT_CONNECTION *conn;
    WT_SESSION *session;
    WT_CURSOR *backup;
} wt_state;

/*
 * wtkms_source_add --
 *     Append a (name, path) pair.
 */
int
wtkms_source_add(wtkms_source *src, const char *name, const char *path, wtkms_err *err)
{
    wtkms_src_file *tmp;
    uint32_t i;

    if (!wtkms_relname_safe(name))
        return (
          wtkms_errf(err, EINVAL, "file name '%s' in the home is not a safe relative path", name));
    for (i = 0; i < src->nfiles; i++)
        if (strcmp(src->files[i].name, name) == 0)
            return (0);
    if (src->nfiles == src->cap) {
        src->cap = src->cap == 0 ? 64 : src->cap * 2;
        if ((tmp = realloc(src->files, src->cap * sizeof(*tmp))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        src->files = tmp;
    }
    src->files[src->nfiles].name = strdup(name);
    src->files[src->nfiles].path = strdup(path);
    src->files[src->nfiles].limit = -1;
    if (src->files[src->nfiles].name == NULL || src->files[src->nfiles].path == NULL) {
        free(src->files[src->nfiles].name);
        free(src->files[src->nfiles].path);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    src->nfiles++;
    return (0);
}

/*
 * wtkms_source_lock_holder --
 *     Who holds byte 0 of WiredTiger.lock (WiredTiger's single-process lock).
 */
pid_t
wtkms_source_lock_holder(const char *home)
{
    struct flock fl;
    char path[4096];
    int fd;

    if (snprintf(path, sizeof(path), "%s/WiredTiger.lock", home) >= (int)sizeof(path))
        return (0);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return (0);
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    if (fcntl(fd, F_GETLK, &fl) != 0)
        fl.l_type = F_UNLCK;
    (void)close(fd);
    return (fl.l_type == F_UNLCK ? 0 : fl.l_pid > 0 ? fl.l_pid : 1);
}

/*
 * walk --
 *     Every regular file under dir (fsync-locked mode).
 */
static int
walk(wtkms_source *src, const char *home, const char *rel, wtkms_err *err)
{
    struct dirent *de;
    struct stat sb;
    char dir[4096], path[4096], name[4096];
    DIR *d;
    int ret;

    if (snprintf(dir, sizeof(dir), "%s%s%s", home, rel[0] ? "/" : "", rel) >= (int)sizeof(dir))
        return (wtkms_errf(err, ENAMETOOLONG, "%s/%s: path too long", home, rel));
    if ((d = opendir(dir)) == NULL)
        return (wtkms_errf(err, errno, "cannot read directory %s: %s", dir, strerror(errno)));
    ret = 0;
    while (ret == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        /* Another snapshot's clones (--fsync-lock on a home that is its own filesystem). */
        if (rel[0] == '\0' && strncmp(de->d_name, ".wtkms-clone-", 13) == 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
            snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >=
              (int)sizeof(name)) {
            ret = wtkms_errf(err, ENAMETOOLONG, "%s/%s: path too long", dir, de->d_name);
            break;
        }
        if (lstat(path, &sb) != 0) {
            ret = wtkms_errf(err, errno, "%s: %s", path, strerror(errno));
            break;
        }
        if (S_ISLNK(sb.st_mode) && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            ret = wtkms_errf(err, EINVAL,
              "%s is a symbolic link to a directory: snapshots do not follow those; snapshot the "
              "directory it points to separately",
              path);
            break;
        }
        if (S_ISDIR(sb.st_mode))
            ret = walk(src, home, name, err);
        else if (S_ISREG(sb.st_mode))
            ret = wtkms_source_add(src, name, path, err);
        /* Sockets, FIFOs and devices hold no data to restore. */
    }
    (void)closedir(d);
    return (ret);
}

/*
 * home_wt_version --
 *     The second line of the home's "WiredTiger" file: the version that created it.
 */
static void
home_wt_version(const char *home, char *out, size_t outlen)
{
    char path[4096], *buf, *nl, *line;
    size_t len;

    (void)snprintf(out, outlen, "unknown");
    if (snprintf(path, sizeof(path), "%s/WiredTiger", home) >= (int)sizeof(path) ||
        wtkms_read_file(path, 4096, &buf, &len, NULL) != 0)
        return;
    if ((nl = strchr(buf, '\n')) != NULL) {
        line = nl + 1;
        if ((nl = strchr(line, '\n')) != NULL)
            *nl = '\0';
        if (line[0] != '\0')
            (void)snprintf(out, outlen, "%s", line);
    }
    free(buf);
}

/*
 * wtkms_snap_needs_quotes --
 *     Whether a path must be quoted inside a WiredTiger configuration string.
 */
bool
wtkms_snap_needs_quotes(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '/' || *s == '.' || *s == '_' || *s == '-'))
            return (true);
    return (false);
}

/*
 * wtkms_snap_default_ext_path --
 *     libwtkms.so beside this program (the same build directory, so the same WiredTiger line).
 */
int
wtkms_snap_default_ext_path(char *out, size_t outlen, wtkms_err *err)
{
    char exe[PATH_MAX], *slash;
    ssize_t n;

    if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
        return (
          wtkms_errf(err, errno, "cannot find this program's directory: %s", strerror(errno)));
    exe[n] = '\0';
    if ((slash = strrchr(exe, '/')) != NULL)
        *slash = '\0';
    if (snprintf(out, outlen, "%s/libwtkms.so", exe) >= (int)outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "%s: path too long", exe));
    if (access(out, R_OK) != 0)
        return (wtkms_errf(err, ENOENT,
          "the wtkms extension %s is missing (it is built beside the wtkms command): rebuild, or "
          "pass --extension PATH",
          out));
    return (0);
}

/*
 * copy_keystore --
 *     Copy the keystore once into a private directory: the snapshot stores exactly these bytes
 *     and the descriptor is read from them.
 */
static int
copy_keystore(wtkms_source *src, const char *home, wtkms_err *err)
{
    char path[4096], *buf;
    const char *tmp;
    size_t len;
    int ret;

    if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if (snprintf(src->tmpdir, sizeof(src->tmpdir), "%s/wtkms-snap-XXXXXX", tmp) >=
        (int)sizeof(src->tmpdir))
        return (wtkms_errf(err, ENAMETOOLONG, "TMPDIR is too long"));
    if (mkdtemp(src->tmpdir) == NULL) {
        ret = wtkms_errf(
          err, errno, "cannot create a private directory in %s: %s", tmp, strerror(errno));
        src->tmpdir[0] = '\0';
        return (ret);
    }
    if ((ret = wtkms_keystore_path(home, path, sizeof(path), err)) != 0 ||
        (ret = wtkms_read_file(path, 64 * 1024 * 1024, &buf, &len, err)) != 0)
        return (ret);
    (void)snprintf(src->keystore_dir, sizeof(src->keystore_dir), "%s", src->tmpdir);
    if ((ret = wtkms_keystore_path(src->tmpdir, path, sizeof(path), err)) == 0)
        ret = wtkms_write_file_atomic(path, buf, len, 0600, 1, err);
    free(buf);
    if (ret != 0)
        return (ret);
    return (wtkms_source_add(src, WTKMS_KEYSTORE_FILE, path, err));
}

/*
 * local_encryptor --
 *     Whether the open uses the command's own encryptor; if so, unlock the home's keystore with
 *     the provider already built and offer it to that encryptor.
 */
static int
local_encryptor(const wtkms_snap_create_opts *o, bool *localp, wtkms_err *err)
{
    wtkms_keystore *ks;
    wtkms_kms *kms;
    int ret;

    *localp = false;
    kms = o->home_kms != NULL ? o->home_kms : o->kms;
    if (o->local_entry == NULL || o->local_offer == NULL || kms == NULL || o->ext_path != NULL ||
        (o->wt_config != NULL && strstr(o->wt_config, "extensions=") != NULL))
        return (0);
    if ((ret = wtkms_keystore_load(o->home, &ks, err)) != 0)
        return (wtkms_err_prefix(err, "home %s", o->home));
    if ((ret = wtkms_keystore_unlock(ks, kms, err)) != 0) {
        wtkms_keystore_free(ks);
        return (wtkms_err_prefix(err, "home %s", o->home));
    }
    o->local_offer(ks);
    *localp = true;
    return (0);
}

/*
 * open_backup --
 *     Open the home with WiredTiger and list a backup cursor's files.
 */
static int
open_backup(const wtkms_snap_create_opts *o, wtkms_source *src, wtkms_err *err)
{
    wt_state *wt;
    char ext[8192 + 1024], *config, path[4096], alt[4096];
    const char *name, *extra;
    struct stat sb;
    size_t clen;
    pid_t holder;
    int ret, tret;
    bool local;

    local = false;
    if ((holder = wtkms_source_lock_holder(o->home)) != 0)
        return (wtkms_errf(err, EBUSY,
          "home %s is in use by process %ld (it holds WiredTiger.lock): a live home cannot be "
          "copied consistently from outside; stop that process, or for mongod run "
          "db.fsyncLock() and pass --fsync-locked (with --uri to record the oplog timestamp)",
          o->home, (long)holder));
    if ((wt = calloc(1, sizeof(*wt))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    src->wt = wt;
    wtkms_wt_events_init(&wt->h);

    /* wtkms (when there is a keystore) and WiredTiger's compressors (a mongod journal is
     * snappy-compressed); a --wt-config that lists extensions takes them over. */
    if (src->has_keystore && (ret = local_encryptor(o, &local, err)) != 0)
        return (ret);
    config = NULL;
    if ((ret = wtkms_wt_extensions(o->wt_config, src->has_keystore, local ? o->local_entry : NULL,
           o->ext_path, o->ext_config, ext, sizeof(ext), err)) == 0) {
        extra = o->wt_config != NULL ? o->wt_config
                : src->has_keystore  ? "encryption=(name=wtkms,keyid=system)"
                                     : "";
        clen = strlen(ext) + strlen(extra) + 128;
        if ((config = malloc(clen)) == NULL)
            ret = wtkms_errf(err, ENOMEM, "out of memory");
    }
    if (ret != 0) {
        if (local)
            o->local_offer(NULL);
        return (ret);
    }
    /* A small cache: only the metadata is read; the data files are copied, not opened. */
    (void)snprintf(config, clen, "create=false,cache_size=32MB,%s%s", ext, extra);
    ret = wiredtiger_open(o->home, &wt->h.handler, config, &wt->conn);
    free(config);
    /* The open took the offered keystore, or failed before it did: never leave it behind. */
    if (local)
        o->local_offer(NULL);
    if (ret == EBUSY)
        return (wtkms_errf(err, EBUSY,
          "home %s is in use by another process (WiredTiger says: %s): stop it, or for mongod run "
          "db.fsyncLock() and pass --fsync-locked",
          o->home, wtkms_wt_events_error(&wt->h, ret)));
    if (ret != 0 && src->has_keystore && !local && ext[0] != '\0' &&
        (o->ext_config == NULL || o->ext_config[0] == '\0')) {
        wt->conn = NULL;
        return (wtkms_errf(err, EINVAL,
          "home %s has a wtkms keystore, and the extension that opens it was given no provider "
          "settings: give them (--config FILE, or --key-file PATH, --provider ...), or "
          "--home-config FILE (WiredTiger says: %s)",
          o->home, wtkms_wt_events_error(&wt->h, ret)));
    }
    if (ret != 0) {
        wt->conn = NULL;
        return (wtkms_errf(err, ret == ENOENT ? ENOENT : EIO,
          "cannot open home %s with WiredTiger %s: %s%s", o->home,
          wiredtiger_version(NULL, NULL, NULL), wtkms_wt_events_error(&wt->h, ret),
          src->has_keystore ? ""
                            : " (the home has no wtkms keystore, so no extension was loaded)"));
    }
    (void)snprintf(
      src->wt_version, sizeof(src->wt_version), "%s", wiredtiger_version(NULL, NULL, NULL));
    if ((ret = wt->conn->open_session(wt->conn, NULL, NULL, &wt->session)) != 0 ||
        (ret = wt->session->open_cursor(wt->session, "backup:", NULL, NULL, &wt->backup)) != 0) {
        wt->backup = NULL;
        return (wtkms_errf(err, EIO, "home %s: cannot open a backup cursor: %s", o->home,
          wtkms_wt_events_error(&wt->h, ret)));
    }
    while ((ret = wt->backup->next(wt->backup)) == 0) {
        if ((ret = wt->backup->get_key(wt->backup, &name)) != 0)
            break;
        if (snprintf(path, sizeof(path), "%s/%s", o->home, name) >= (int)sizeof(path))
            return (wtkms_errf(err, ENAMETOOLONG, "%s/%s: path too long", o->home, name));
        /* Log files are listed by name; mongod keeps them in journal/. */
        if (stat(path, &sb) != 0 && strncmp(name, "WiredTigerLog.", 14) == 0 &&
            snprintf(alt, sizeof(alt), "journal/%s", name) < (int)sizeof(alt)) {
            if (snprintf(path, sizeof(path), "%s/%s", o->home, alt) < (int)sizeof(path) &&
                stat(path, &sb) == 0)
                name = alt;
        }
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            return (wtkms_errf(err, ENOENT,
              "home %s: the backup cursor lists %s, which is not a file there", o->home, name));
        if ((tret = wtkms_source_add(src, name, path, err)) != 0)
            return (tret);
    }
    if (ret != WT_NOTFOUND)
        return (wtkms_errf(
          err, EIO, "home %s: reading the backup cursor: %s", o->home, wiredtiger_strerror(ret)));
    /* After the cursor is open: every block its checkpoint needs has its key in this copy. */
    if (src->has_keystore && (ret = copy_keystore(src, o->home, err)) != 0)
        return (ret);
    return (0);
}

/*
 * wtkms_source_open --
 *     List the files to copy.
 */
int
wtkms_source_open(const wtkms_snap_create_opts *o, wtkms_source **srcp, wtkms_err *err)
{
    wtkms_source *src;
    struct stat sb;
    int ret;

    *srcp = NULL;
    if (stat(o->home, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return (wtkms_errf(err, ENOENT, "home %s is not a directory", o->home));
    if ((src = calloc(1, sizeof(*src))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    src->has_keystore = wtkms_keystore_exists(o->home);
    if (o->fsync_locked || o->fsync_lock || o->live) {
        src->method = "fsync_locked";
        home_wt_version(o->home, src->wt_version, sizeof(src->wt_version));
        (void)snprintf(src->keystore_dir, sizeof(src->keystore_dir), "%s", o->home);
        ret = walk(src, o->home, "", err);
    } else {
        src->method = "backup_cursor";
        ret = open_backup(o, src, err);
    }
    if (ret == 0 && src->nfiles == 0)
        ret = wtkms_errf(err, ENOENT, "home %s holds no files to snapshot", o->home);
    if (ret != 0) {
        (void)wtkms_source_close(src, NULL);
        return (ret);
    }
    *srcp = src;
    return (0);
}

/*
 * wtkms_source_backup_cursor --
 *     The files a running mongod's $backupCursor lists, read from o->home while it is open.
 */
int
wtkms_source_backup_cursor(
  const wtkms_snap_create_opts *o, wtkms_source **srcp, wtkms_backup_meta *meta, wtkms_err *err)
{
    wtkms_source *src;
    struct stat sb;
    const char *v;
    int ret;

    *srcp = NULL;
    if (stat(o->home, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return (wtkms_errf(err, ENOENT, "home %s is not a directory", o->home));
    if ((src = calloc(1, sizeof(*src))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    src->has_keystore = wtkms_keystore_exists(o->home);
    src->method = "mongod_backup_cursor";
    home_wt_version(o->home, src->wt_version, sizeof(src->wt_version));
    /* A test point: how often the cursor is kept open (default every 5 minutes). */
    v = getenv("WTKMS_TEST_BACKUP_KEEPALIVE_MS");
    ret = wtkms_backup_cursor_open(o->uri, o->home, v != NULL ? (unsigned)strtoul(v, NULL, 10) : 0,
      src, meta, (wtkms_backup_cursor **)&src->bc, err);
    /* After the cursor is open: every block its checkpoint needs has its key in this copy. */
    if (ret == 0 && src->has_keystore)
        ret = copy_keystore(src, o->home, err);
    if (ret == 0 && src->nfiles == 0)
        ret = wtkms_errf(err, ENOENT, "the $backupCursor of %s listed no files", o->home);
    if (ret != 0) {
        (void)wtkms_source_close(src, NULL);
        return (ret);
    }
    *srcp = src;
    return (0);
}

/*
 * wtkms_source_close --
 *     Release the backup cursor and the connection; remove the private copy.
 */
int
wtkms_source_close(wtkms_source *src, wtkms_err *err)
{
    wt_state *wt;
    uint32_t i;
    int ret, tret;

    if (src == NULL)
        return (0);
    ret = wtkms_backup_cursor_close(src->bc, NULL, err);
    if ((wt = src->wt) != NULL) {
        if (wt->backup != NULL)
            (void)wt->backup->close(wt->backup);
        if (wt->conn != NULL && (tret = wt->conn->close(wt->conn, NULL)) != 0 && ret == 0)
            ret = wtkms_errf(
              err, EIO, "closing the source home: %s", wtkms_wt_events_error(&wt->h, tret));
        free(wt);
    }
    if (src->tmpdir[0] != '\0')
        (void)wtkms_rmtree(src->tmpdir, NULL);
    if (src->clonedir[0] != '\0')
        (void)wtkms_rmtree(src->clonedir, NULL);
    for (i = 0; i < src->nfiles; i++) {
        free(src->files[i].name);
        free(src->files[i].path);
    }
    free(src->files);
    free(src);
    return (ret);
}
