/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c -- the configuration parser (config.c): a configuration string or file's text,
 * then what its consumers do with it: typed lookups, the secret refusal, the unknown-key check,
 * and opening the provider it names (each provider's open parses its own settings: endpoints,
 * ARNs, key names, vault URLs, timeouts). No provider open does I/O beyond reading the files its
 * settings name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"
#include "http.h"
#include "kms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput --
 *     One configuration text.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = { "provider", "key_file", "key_id", "region", "endpoint",
        "vault_url", "key_name", "timeout_ms", "max_retries", "ca_file", "flag" };
    wtkms_config cfg;
    wtkms_http_opts opts;
    wtkms_kms *kms;
    wtkms_kms_desc desc;
    wtkms_err err;
    unsigned long v;
    size_t i;
    bool b;
    int n;

    wtkms_config_init(&cfg, "fuzz config");
    if (wtkms_config_parse(&cfg, (const char *)data, size, &err) != 0) {
        wtkms_config_free(&cfg);
        return (0);
    }
    for (n = 0; n < cfg.n; n++) {
        if (cfg.items[n].key == NULL || cfg.items[n].value == NULL)
            abort(); /* every parsed pair has a key and a value */
        if (wtkms_config_is_secret_key(cfg.items[n].key))
            abort(); /* a secret setting is refused, never stored */
    }
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        (void)wtkms_config_get(&cfg, keys[i]);
        (void)wtkms_config_uint(&cfg, keys[i], 1, 0, 1000000, &v, &err);
        (void)wtkms_config_bool(&cfg, keys[i], false, &b, &err);
    }
    (void)wtkms_http_opts_from_config(&cfg, &opts, &err);
    if (wtkms_kms_open(&cfg, &kms, &err) == 0) {
        kms->describe(kms, &desc);
        wtkms_kms_close(kms);
    }
    (void)wtkms_config_check_unused(&cfg, &err);
    wtkms_config_free(&cfg);
    return (0);
}
