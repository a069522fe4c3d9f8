/* SPDX-License-Identifier: Apache-2.0 */
/*
 * azure.h -- internal to the "azure" provider: its state, shared by the Key Vault calls
 * (azure.c) and the credentials that get its tokens (azure_auth.c).
 */
#ifndef WTKMS_AZURE_H
#define WTKMS_AZURE_H

#include "config.h"
#include "err.h"
#include "http.h"
#include "kms.h"
#include "oauth.h"

typedef enum { AZ_SECRET_FILE, AZ_CERT_FILE, AZ_ENV_SECRET, AZ_ENV_CERT, AZ_MSI } az_cred;

typedef struct {
    wtkms_kms iface; /* must come first */
    char vault[512]; /* https://NAME.vault.azure.net, no trailing slash */
    char key_name[128];
    char key_version[128]; /* configured; "" = current */
    char label[160];       /* "Azure Key Vault key NAME", for messages */
    char tenant[128], client_id[128];
    char secret_file[1024], cert_file[1024];
    char authority[512];
    char resource[128]; /* https://vault.azure.net, or the sovereign cloud's */
    char msi_client_id[128];
    az_cred cred;
    char cred_desc[1400]; /* for messages: which credential, never its secret */
    wtkms_http_opts opts;
    wtkms_token token;
} azure_kms;

/* A setting into a fixed buffer, or an error naming it. */
int wtkms_az_copy_setting(
  const char *origin, const char *name, const char *v, char *out, size_t outlen, wtkms_err *err);

/*
 * Choose the credential from the settings and the environment, in the documented order
 * (authority_host, tenant_id, client_id, client_secret_file, client_certificate_file,
 * managed_identity_client_id); no I/O.
 */
int wtkms_az_auth_config(azure_kms *ak, wtkms_config *cfg, wtkms_err *err);

/* Fetch a Key Vault token from the chosen credential into ak->token (arg is the azure_kms). */
int wtkms_az_token_fetch(void *arg, wtkms_err *err);

#endif
