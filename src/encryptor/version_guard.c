/* SPDX-License-Identifier: Apache-2.0 */
/*
 * version_guard.c -- find which WiredTiger this process runs, without WiredTiger's API.
 *
 * 1. A dynamically linked program (wt, any application linking libwiredtiger.so) exports
 *    wiredtiger_version: dlsym(RTLD_DEFAULT) finds it; it takes only int pointers, identical in
 *    every line.
 * 2. A statically linked program (mongod) does not export it, but its read-only image holds
 *    WIREDTIGER_VERSION_STRING ("WiredTiger 11.3.1: (..."): scan the loaded, non-writable
 *    segments of every object for it.
 * Neither is found only for a program that neither exports the symbol nor carries the string;
 * the guard then lets the load go ahead (and says so on stderr), as it cannot tell.
 */
#define _GNU_SOURCE
#include "version_guard.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *method = "unknown";

typedef const char *(*version_fn)(int *, int *, int *);

struct scan {
    int major, minor, patch;
    int found;
};

/*
 * parse_version --
 *     "WiredTiger 11.3.1: (" at p, bounded by end.
 */
static int
parse_version(const char *p, const char *end, int *major, int *minor, int *patch)
{
    char buf[48];
    size_t n;

    n = (size_t)(end - p) < sizeof(buf) - 1 ? (size_t)(end - p) : sizeof(buf) - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return (
      sscanf(buf, "WiredTiger %d.%d.%d: (", major, minor, patch) == 3 && strstr(buf, ": (") != NULL
        ? 0
        : -1);
}

/*
 * scan_object --
 *     dl_iterate_phdr callback: look for the version string in read-only segments.
 */
static int
scan_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct scan *s = arg;
    const char *base, *p, *end;
    int i;

    (void)size;
    /* Our own image holds no version string on purpose (see wtkms_version_guard). */
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || !(ph->p_flags & PF_R))
            continue;
        base = (const char *)(info->dlpi_addr + ph->p_vaddr);
        end = base + ph->p_memsz;
        for (p = base; p < end && (p = memmem(p, (size_t)(end - p), "WiredTiger ", 11)) != NULL;
             p++) {
            if (p + 11 < end && p[11] >= '1' && p[11] <= '9' &&
                parse_version(p, end, &s->major, &s->minor, &s->patch) == 0) {
                s->found = 1;
                return (1);
            }
        }
    }
    return (0);
}

/*
 * sibling_build --
 *     The build for WiredTiger major.minor beside this library, if there is one: "scons install"
 *     puts each line's build in lib/wtkms/wt-X.Y/ (lib/wtkms/libwtkms.so links the system line's),
 *     scons builds them in build/ (system line) and build/wt-X.Y/. Looks in this library's
 *     directory and its parent.
 */
static int
sibling_build(int major, int minor, char *out, size_t outlen)
{
    Dl_info info;
    struct stat sb;
    char self[4096], dir[4096];
    int i;

    if (dladdr((void *)sibling_build, &info) == 0 || info.dli_fname == NULL ||
        strlen(info.dli_fname) >= sizeof(self))
        return (-1);
    (void)snprintf(self, sizeof(self), "%s", info.dli_fname);
    (void)snprintf(dir, sizeof(dir), "%s", dirname(self));
    for (i = 0; i < 2; i++) {
        if ((size_t)snprintf(out, outlen, "%s/wt-%d.%d/libwtkms.so", dir, major, minor) < outlen &&
            stat(out, &sb) == 0 && S_ISREG(sb.st_mode))
            return (0);
        (void)snprintf(self, sizeof(self), "%s", dir);
        (void)snprintf(dir, sizeof(dir), "%s", dirname(self));
    }
    return (-1);
}

/*
 * wtkms_version_guard --
 *     Compare the running WiredTiger's line with the one this build is for.
 */
int
wtkms_version_guard(wtkms_err *err)
{
    struct scan s;
    version_fn fn;
    char other[4096];

    memset(&s, 0, sizeof(s));
    if ((fn = (version_fn)dlsym(RTLD_DEFAULT, "wiredtiger_version")) != NULL) {
        (void)fn(&s.major, &s.minor, &s.patch);
        s.found = 1;
        method = "symbol";
    } else {
        (void)dl_iterate_phdr(scan_object, &s);
        method = s.found ? "image" : "unknown";
    }
    if (!s.found) {
        (void)fprintf(stderr,
          "wtkms: note: cannot identify the running WiredTiger (no wiredtiger_version symbol, no "
          "version string); this build is for WiredTiger %d.%d\n",
          WTKMS_WT_MAJOR, WTKMS_WT_MINOR);
        return (0);
    }
    if (s.major == WTKMS_WT_MAJOR && s.minor == WTKMS_WT_MINOR)
        return (0);
    if (sibling_build(s.major, s.minor, other, sizeof(other)) == 0)
        return (wtkms_errf(err, ENOTSUP,
          "this libwtkms.so was built for WiredTiger %d.%d, but the running WiredTiger is "
          "%d.%d.%d: load %s, the wtkms build for WiredTiger %d.%d, instead",
          WTKMS_WT_MAJOR, WTKMS_WT_MINOR, s.major, s.minor, s.patch, other, s.major, s.minor));
    return (wtkms_errf(err, ENOTSUP,
      "this libwtkms.so was built for WiredTiger %d.%d, but the running WiredTiger is %d.%d.%d: "
      "load the wtkms build for WiredTiger %d.%d (scons --wiredtiger=DIR builds "
      "build/wt-%d.%d/libwtkms.so; scons install --wiredtiger=DIR installs it as "
      "lib/wtkms/wt-%d.%d/libwtkms.so)",
      WTKMS_WT_MAJOR, WTKMS_WT_MINOR, s.major, s.minor, s.patch, s.major, s.minor, s.major, s.minor,
      s.major, s.minor));
}

/*
 * wtkms_version_guard_method --
 *     How the running version was found.
 */
const char *
wtkms_version_guard_method(void)
{
    return (method);
}
