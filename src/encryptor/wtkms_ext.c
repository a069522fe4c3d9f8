/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wtkms_ext.c -- the WiredTiger extension: registers the encryptor "wtkms".
 *
 * Loaded as extensions=[libwtkms.so=(config=(provider=local,key_file=PATH))] or
 * config=(config_file=PATH). Initialization reads the configuration and opens the home's keystore
 * (keystore.h: wtkms_keystore_open builds the provider, unlocks the keystore with one KMS call or
 * creates it for an empty home, and closes the provider); customize
 * (per keyid, lazily, under a WiredTiger spinlock) does no I/O at all; the first encrypt of an
 * open records the open in the keystore (one fsync).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wiredtiger.h>
#include <wiredtiger_ext.h>

#include "block.h"
#include "config.h"
#include "fileio.h"
#include "keystore.h"
#include "rotation_alert.h"
#include "secure.h"
#include "version_guard.h"
#include "wtkms_ext.h"

/* State shared by the base encryptor and every keyid's encryptor of one connection. */
typedef struct {
    wtkms_engine *engine;
    wtkms_alert *alert;
} wtkms_conn;

typedef struct {
    WT_ENCRYPTOR iface; /* must come first */
    WT_EXTENSION_API *wt_api;
    wtkms_conn *conn;
    wtkms_keyed *kd; /* NULL for the base (uncustomized) encryptor */
} wtkms_encryptor;

WTKMS_EXPORT int wiredtiger_extension_init(WT_CONNECTION *connection, WT_CONFIG_ARG *config);

/*
 * report --
 *     Hand an error to WiredTiger's error stream and return its code.
 */
static int
report(WT_EXTENSION_API *wt_api, WT_SESSION *session, const wtkms_err *err)
{
    (void)wt_api->err_printf(wt_api, session, "wtkms: %s", err->msg);
    return (err->code != 0 ? err->code : EINVAL);
}

/*
 * wtkms_encrypt --
 *     WT_ENCRYPTOR::encrypt.
 */
static int
wtkms_encrypt(WT_ENCRYPTOR *encryptor, WT_SESSION *session, uint8_t *src, size_t src_len,
  uint8_t *dst, size_t dst_len, size_t *result_lenp)
{
    wtkms_encryptor *we = (wtkms_encryptor *)encryptor;
    wtkms_err err;

    if (we->kd == NULL) {
        wtkms_errf(&err, EINVAL, "encrypt called without a keyid");
        return (report(we->wt_api, session, &err));
    }
    if (wtkms_block_encrypt(we->kd, src, src_len, dst, dst_len, result_lenp, &err) != 0)
        return (report(we->wt_api, session, &err));
    return (0);
}

/*
 * wtkms_decrypt --
 *     WT_ENCRYPTOR::decrypt.
 */
static int
wtkms_decrypt(WT_ENCRYPTOR *encryptor, WT_SESSION *session, uint8_t *src, size_t src_len,
  uint8_t *dst, size_t dst_len, size_t *result_lenp)
{
    wtkms_encryptor *we = (wtkms_encryptor *)encryptor;
    wtkms_err err;

    if (we->kd == NULL) {
        wtkms_errf(&err, EINVAL, "decrypt called without a keyid");
        return (report(we->wt_api, session, &err));
    }
    if (wtkms_block_decrypt(we->kd, src, src_len, dst, dst_len, result_lenp, &err) == 0)
        return (0);
    (void)report(we->wt_api, session, &err);
    /*
     * A block that passed WiredTiger's checksum but fails authentication, or names a key this
     * keystore does not hold, is a damaged block: WiredTiger's salvage and verify skip a block
     * whose read fails with WT_ERROR (as its sodium example returns) and stop on any other code.
     * The message above says what is wrong with it. Other failures (out of memory) keep their
     * code: salvage must not drop a good block because of them.
     */
    if (err.code == EBADMSG || err.code == ENOKEY || err.code == EKEYREJECTED)
        return (WT_ERROR);
    return (err.code != 0 ? err.code : EINVAL);
}

/*
 * wtkms_sizing --
 *     WT_ENCRYPTOR::sizing: the exact expansion.
 */
static int
wtkms_sizing(WT_ENCRYPTOR *encryptor, WT_SESSION *session, size_t *expansion_constantp)
{
    (void)encryptor;
    (void)session;
    *expansion_constantp = WTKMS_BLOCK_OVERHEAD;
    return (0);
}

/*
 * wtkms_terminate --
 *     WT_ENCRYPTOR::terminate: WiredTiger calls it for every keyid's encryptor, then the base.
 */
static int
wtkms_terminate(WT_ENCRYPTOR *encryptor, WT_SESSION *session)
{
    wtkms_encryptor *we = (wtkms_encryptor *)encryptor;

    (void)session;
    if (we->kd != NULL)
        wtkms_keyed_free(we->kd);
    else {
        wtkms_alert_stop(we->conn->alert);
        wtkms_engine_free(we->conn->engine);
        free(we->conn);
    }
    free(we);
    return (0);
}

/*
 * wtkms_customize --
 *     WT_ENCRYPTOR::customize: an encryptor for one keyid. No I/O, no KMS call.
 */
static int
wtkms_customize(WT_ENCRYPTOR *encryptor, WT_SESSION *session, WT_CONFIG_ARG *encrypt_config,
  WT_ENCRYPTOR **customp)
{
    wtkms_encryptor *base = (wtkms_encryptor *)encryptor, *we;
    WT_CONFIG_ITEM keyid, secret;
    wtkms_err err;
    char id[WTKMS_KEYID_MAX];
    int ret;

    *customp = NULL;
    if ((ret = base->wt_api->config_get(base->wt_api, session, encrypt_config, "keyid", &keyid)) !=
          0 ||
        keyid.len == 0) {
        wtkms_errf(&err, EINVAL,
          "encryption=(name=wtkms) needs a keyid: add keyid=NAME (for example keyid=system)");
        return (report(base->wt_api, session, &err));
    }
    if (keyid.len >= sizeof(id)) {
        wtkms_errf(&err, EINVAL, "keyid is longer than %zu bytes", sizeof(id) - 1);
        return (report(base->wt_api, session, &err));
    }
    memcpy(id, keyid.str, keyid.len);
    id[keyid.len] = '\0';
    /*
     * encryption=(secretkey=...) on the connection: wtkms's keys come from the keystore under the
     * configured master key, so a secret key here would be ignored while its holder believes it
     * protects the data, and mongod logs the engine string. Refuse it.
     */
    if (base->wt_api->config_get(base->wt_api, session, encrypt_config, "secretkey", &secret) ==
          0 &&
        secret.len != 0) {
        wtkms_errf(&err, EINVAL,
          "encryption=(secretkey=...) is not used by wtkms and is refused: wtkms's data keys come "
          "from the keystore under the master key the extension's configuration names; remove "
          "secretkey= from the configuration (keep keyid=%s)",
          id);
        return (report(base->wt_api, session, &err));
    }
    if ((we = calloc(1, sizeof(*we))) == NULL)
        return (ENOMEM);
    *we = *base;
    if (wtkms_keyed_new(base->conn->engine, id, &we->kd, &err) != 0) {
        free(we);
        return (report(base->wt_api, session, &err));
    }
    *customp = &we->iface;
    return (0);
}

/*
 * say_msg --
 *     Hand a warning to WiredTiger's message stream.
 */
static void
say_msg(void *arg, const char *msg)
{
    WT_EXTENSION_API *wt_api = arg;

    (void)wt_api->msg_printf(wt_api, NULL, "%s", msg);
}

/*
 * load_config --
 *     Collect the extension's settings, then those of config_file.
 */
static int
load_config(WT_EXTENSION_API *wt_api, WT_CONFIG_ARG *config, wtkms_config *cfg, wtkms_err *err)
{
    WT_CONFIG_PARSER *parser;
    WT_CONFIG_ITEM k, v;
    char key[128], *val;
    int ret, tret;

    if ((ret = wt_api->config_parser_open_arg(wt_api, NULL, config, &parser)) != 0)
        return (wtkms_errf(err, ret, "cannot read the extension configuration"));
    while ((ret = parser->next(parser, &k, &v)) == 0) {
        if (k.len >= sizeof(key)) {
            ret = wtkms_errf(err, EINVAL, "extension config: setting name too long");
            break;
        }
        memcpy(key, k.str, k.len);
        key[k.len] = '\0';
        if ((val = malloc(v.len + 1)) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            break;
        }
        memcpy(val, v.str, v.len);
        val[v.len] = '\0';
        ret = wtkms_config_set(cfg, key, val, err);
        free(val);
        if (ret != 0)
            break;
    }
    if (ret == WT_NOTFOUND)
        ret = 0;
    else if (ret != 0 && err->code == 0)
        ret = wtkms_errf(err, ret, "extension config: cannot be parsed");
    if ((tret = parser->close(parser)) != 0 && ret == 0)
        ret = wtkms_errf(err, tret, "extension config: cannot be parsed");
    if (ret != 0)
        return (ret);

    /* config_file=PATH: the form to use under mongod, whose engine string is logged. */
    return (wtkms_config_include(cfg, err));
}

/*
 * home_has_data --
 *     Whether a home already holds WiredTiger data (so a missing keystore is an error).
 */
static bool
home_has_data(const char *home)
{
    static const char *const files[] = { "WiredTiger.wt", "WiredTiger.turtle", "WiredTigerHS.wt",
        "WiredTigerLAS.wt", NULL };
    char path[4096];
    struct stat sb;
    int i;

    for (i = 0; files[i] != NULL; i++) {
        (void)snprintf(path, sizeof(path), "%s/%s", home, files[i]);
        if (stat(path, &sb) == 0)
            return (true);
    }
    return (false);
}

/* The extension's own settings, read between the provider's and the keystore's open. */
typedef struct {
    unsigned long alert_days, alert_repeat;
} ext_settings;

/*
 * ext_settings_read --
 *     The rotation alert's settings; then nothing may be left unused.
 */
static int
ext_settings_read(wtkms_config *cfg, void *arg, wtkms_err *err)
{
    ext_settings *es = arg;
    int ret;

    if ((ret = wtkms_alert_settings(cfg, &es->alert_days, &es->alert_repeat, err)) != 0)
        return (ret);
    return (wtkms_config_check_unused(cfg, err));
}

/*
 * wtkms_ext_register --
 *     Register the encryptor "wtkms" on a connection with an unlocked keystore (taken, also on
 *     error) and the rotation alert's settings (days 0: no alert).
 */
int
wtkms_ext_register(WT_CONNECTION *connection, wtkms_keystore *ks, unsigned long alert_days,
  unsigned long alert_repeat, wtkms_err *err)
{
    WT_EXTENSION_API *wt_api;
    wtkms_encryptor *we;
    int ret;

    wt_api = connection->get_extension_api(connection);
    if ((we = calloc(1, sizeof(*we))) == NULL ||
        (we->conn = calloc(1, sizeof(*we->conn))) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    we->iface.encrypt = wtkms_encrypt;
    we->iface.decrypt = wtkms_decrypt;
    we->iface.sizing = wtkms_sizing;
    we->iface.customize = wtkms_customize;
    we->iface.terminate = wtkms_terminate;
    we->wt_api = wt_api;
    if ((ret = wtkms_alert_start(alert_days, alert_repeat, connection->get_home(connection), ks,
           say_msg, wt_api, &we->conn->alert, err)) != 0)
        goto err;
    if ((ret = wtkms_engine_new(ks, &we->conn->engine, err)) != 0)
        goto err;
    ks = NULL;
    if (wtkms_secure_lock_failures() > 0)
        (void)wt_api->msg_printf(wt_api, NULL,
          "wtkms: warning: key memory could not be locked (mlock: RLIMIT_MEMLOCK too low); keys "
          "may be swapped to disk: raise the memlock limit (ulimit -l)");
    if ((ret = connection->add_encryptor(connection, "wtkms", &we->iface, NULL)) != 0) {
        ret = wtkms_errf(err, ret, "add_encryptor failed: %s", wt_api->strerror(wt_api, NULL, ret));
        goto err;
    }
    return (0);

err:
    wtkms_keystore_free(ks);
    if (we != NULL && we->conn != NULL) {
        wtkms_alert_stop(we->conn->alert);
        wtkms_engine_free(we->conn->engine);
        free(we->conn);
    }
    free(we);
    return (ret != 0 ? ret : EINVAL);
}

/*
 * wiredtiger_extension_init --
 *     Load the extension: read its settings, open the home's keystore, register the encryptor.
 */
int
wiredtiger_extension_init(WT_CONNECTION *connection, WT_CONFIG_ARG *config)
{
    WT_EXTENSION_API *wt_api;
    wtkms_keystore *ks;
    wtkms_ks_open_opts ko;
    wtkms_config cfg;
    wtkms_err err;
    ext_settings es;
    int ret;

    wtkms_err_clear(&err);
    wtkms_config_init(&cfg, "wtkms extension config");

    /* Refuse a WiredTiger of another line before touching any line-specific layout. */
    if ((ret = wtkms_version_guard(&err)) != 0) {
        (void)fprintf(stderr, "wtkms: %s\n", err.msg);
        return (ret);
    }
    wt_api = connection->get_extension_api(connection);

    if ((ret = load_config(wt_api, config, &cfg, &err)) != 0)
        goto err;
    memset(&ko, 0, sizeof(ko));
    if ((ret = wtkms_config_bool(&cfg, "create", true, &ko.create, &err)) != 0)
        goto err;
    ko.has_data = home_has_data;
    ko.before_io = ext_settings_read;
    ko.arg = &es;
    if ((ret = wtkms_keystore_open(connection->get_home(connection), &cfg, &ko, &ks, &err)) != 0)
        goto err;
    if ((ret = wtkms_ext_register(connection, ks, es.alert_days, es.alert_repeat, &err)) != 0)
        goto err;
    wtkms_config_free(&cfg);
    return (0);

err:
    if (err.code != 0 || err.msg[0] != '\0')
        (void)wt_api->err_printf(wt_api, NULL, "wtkms: %s", err.msg);
    wtkms_config_free(&cfg);
    return (ret != 0 ? ret : EINVAL);
}
