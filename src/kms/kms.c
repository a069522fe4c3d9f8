/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms.c -- choose a provider by name; compare descriptors.
 */
#include "kms.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef int (*kms_ctor)(wtkms_config *, wtkms_kms **, wtkms_err *);

/* Providers, by the name the "provider" setting uses. */
static const struct {
    const char *name;
    kms_ctor open;
} providers[] = {
    { "local", wtkms_kms_local_open },
    { "aws", wtkms_kms_aws_open },
    { "kmip", wtkms_kms_kmip_open },
    { "azure", wtkms_kms_azure_open },
    { "gcp", wtkms_kms_gcp_open },
};

/*
 * wtkms_kms_open --
 *     Build the configured provider.
 */
int
wtkms_kms_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err)
{
    const char *name;
    size_t i;

    *kmsp = NULL;
    if ((name = wtkms_config_get(cfg, "provider")) == NULL || name[0] == '\0')
        name = "local";
    for (i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        if (strcmp(providers[i].name, name) == 0)
            return (providers[i].open(cfg, kmsp, err));
    return (wtkms_errf(err, EINVAL,
      "%s: provider=%s is not a key provider this build knows (local, aws, azure, gcp, kmip)",
      cfg->origin, name));
}

/*
 * wtkms_kms_close --
 *     Free a provider.
 */
void
wtkms_kms_close(wtkms_kms *kms)
{
    if (kms != NULL)
        kms->free(kms);
}

/*
 * wtkms_kms_desc_append --
 *     A descriptor as a subdocument, or null.
 */
void
wtkms_kms_desc_append(bson_t *doc, const char *key, const wtkms_kms_desc *d)
{
    bson_t sub;

    if (d == NULL) {
        BSON_APPEND_NULL(doc, key);
        return;
    }
    BSON_APPEND_DOCUMENT_BEGIN(doc, key, &sub);
    BSON_APPEND_UTF8(&sub, "provider", d->provider);
    BSON_APPEND_UTF8(&sub, "key_id", d->key_id);
    BSON_APPEND_UTF8(&sub, "key_version", d->key_version);
    BSON_APPEND_UTF8(&sub, "endpoint", d->endpoint);
    BSON_APPEND_UTF8(&sub, "region", d->region);
    bson_append_document_end(doc, &sub);
}

/*
 * wtkms_kms_desc_name --
 *     One line naming a CMK.
 */
void
wtkms_kms_desc_name(const wtkms_kms_desc *d, char *out, size_t outlen)
{
    (void)snprintf(out, outlen, "%s:%s%s%s", d->provider, d->key_id,
      d->key_version[0] != '\0' && strcmp(d->key_version, d->key_id) != 0 ? "@" : "",
      d->key_version[0] != '\0' && strcmp(d->key_version, d->key_id) != 0 ? d->key_version : "");
}

/*
 * wtkms_kms_check_match --
 *     Whether the configured CMK is the stored one.
 */
int
wtkms_kms_check_match(wtkms_kms *kms, const wtkms_kms_desc *stored, wtkms_err *err)
{
    wtkms_kms_desc cur;
    const char *what;

    if (kms->matches != NULL)
        return (kms->matches(kms, stored, err));
    kms->describe(kms, &cur);
    what = NULL;
    if (strcmp(cur.provider, stored->provider) != 0)
        what = "provider";
    else if (strcmp(cur.key_id, stored->key_id) != 0)
        what = "key";
    else if (strcmp(cur.endpoint, stored->endpoint) != 0)
        what = "endpoint";
    else if (strcmp(cur.region, stored->region) != 0)
        what = "region";
    if (what == NULL)
        return (0);
    return (wtkms_errf(err, EKEYREJECTED,
      "the configured master key (%s %s%s%s) is not the one this was made under (%s %s%s%s): the "
      "%s differs; configure the original key, or rotate with 'wtkms keys rotate'",
      cur.provider, cur.key_id, cur.endpoint[0] ? " at " : "", cur.endpoint, stored->provider,
      stored->key_id, stored->endpoint[0] ? " at " : "", stored->endpoint, what));
}
