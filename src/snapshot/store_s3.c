/*
 * store_s3.c -- a snapshot store in S3-compatible object storage (placeholder until the shared
 * HTTPS transport lands).
 */
#include <errno.h>

#include "store.h"

/*
 * wtkms_store_s3_open --
 *     Not yet available.
 */
int
wtkms_store_s3_open(const char *url, wtkms_config *cfg, wtkms_store **sp, wtkms_err *err)
{
    (void)cfg;
    *sp = NULL;
    return (wtkms_errf(err, ENOTSUP, "store %s: this build has no S3 store yet", url));
}
