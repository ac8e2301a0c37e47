#ifndef VIGIE_COPENSSL_SHIM_H
#define VIGIE_COPENSSL_SHIM_H
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#endif
