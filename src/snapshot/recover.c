/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recover.c -- finish WiredTiger's recovery of a restored home before anyone else opens it.
 *
 * A backup-cursor copy holds WiredTiger.backup, from which WiredTiger rebuilds its metadata at
 * the first open. Opened first by a program that does not recover it (the wt utility without -R),
 * WiredTiger consumes that file and leaves a home with no tables. So restore opens the copy once
 * itself, through this line's WiredTiger and the wtkms extension, and closes it cleanly (a
 * checkpoint): afterwards the home is an ordinary one that any program opens.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wiredtiger.h>

#include "source.h"
#include "snapshot.h"
#include "wt_compress.h"
#include "wt_events.h"

#define BACKUP_FILE "WiredTiger.backup"

/*
 * wtkms_snap_recover --
 *     Open and close the restored copy in dir.
 */
int
wtkms_snap_recover(
  const char *dir, const wtkms_snap_manifest *m, const wtkms_snap_restore_opts *ro, wtkms_err *err)
{
    wtkms_wt_events h;
    WT_CONNECTION *conn;
    char ext[8192 + 1024], logdir[1024], *config;
    const char *extra, *base;
    size_t clen, n;
    uint32_t i;
    int ret;

    /*
     * Only a backup-cursor copy: a copy of a stopped or fsync-locked mongod's files has no
     * WiredTiger.backup and recovers from its journal at mongod's first open, with mongod's own
     * settings (journal compressor, log path), which this program does not know.
     */
    for (i = 0; i < m->nfiles; i++)
        if (strcmp(m->files[i].name, BACKUP_FILE) == 0)
            break;
    if (i == m->nfiles)
        return (0);

    /* wtkms (when there is a keystore) and WiredTiger's compressors (a mongod journal is
     * snappy-compressed); a --wt-config that lists extensions takes them over. */
    if ((ret = wtkms_wt_extensions(ro->wt_config, m->has_keystore, NULL, ro->ext_path,
           ro->ext_config, ext, sizeof(ext), err)) != 0)
        return (ret);
    extra = ro->wt_config != NULL ? ro->wt_config
            : m->has_keystore     ? "encryption=(name=wtkms,keyid=system)"
                                  : "";
    /*
     * Log files in the copy: recovery must replay them, so logging is on, where they are (the
     * backup cursor lists them relative to the home, journal/ for mongod). Without --wt-config
     * only the path is known: a home whose log is compressed needs --wt-config.
     */
    logdir[0] = '\0';
    for (i = 0; ro->wt_config == NULL && i < m->nfiles; i++)
        if ((base = strstr(m->files[i].name, "WiredTigerLog.")) != NULL) {
            (void)snprintf(
              logdir, sizeof(logdir), "%.*s", (int)(base - m->files[i].name), m->files[i].name);
            if ((n = strlen(logdir)) > 0)
                logdir[n - 1] = '\0'; /* the slash */
            else
                (void)snprintf(logdir, sizeof(logdir), ".");
            break;
        }
    if (strchr(logdir, '"') != NULL)
        return (wtkms_errf(err, EINVAL, "log directory %s may not contain '\"'", logdir));
    clen = strlen(ext) + strlen(extra) + strlen(logdir) + 128;
    if ((config = malloc(clen)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)snprintf(config, clen, "create=false,cache_size=64MB,%s%s%s%s%s", ext, extra,
      logdir[0] != '\0' ? ",log=(enabled=true,path=\"" : "", logdir,
      logdir[0] != '\0' ? "\")" : "");
    wtkms_wt_events_init(&h);
    conn = NULL;
    ret = wiredtiger_open(dir, &h.handler, config, &conn);
    free(config);
    if (ret == 0) {
        ret = conn->close(conn, NULL);
        conn = NULL;
    }
    if (ret != 0)
        return (wtkms_errf(err, ret == ENOENT ? ENOENT : EIO,
          "snapshot %s was restored and checked, but WiredTiger %s could not open it to finish "
          "its recovery (WiredTiger says: %s); nothing was kept: give the settings the home needs "
          "with --wt-config STRING, or pass --no-recover and open it first with 'wt -R' or mongod",
          m->id, wiredtiger_version(NULL, NULL, NULL), wtkms_wt_events_error(&h, ret)));
    return (0);
}
