// See include/dkim_key_cache.h ("signing keys") for why this file defines an OpenSSL
// function.
#define _GNU_SOURCE
#include "dkim_key_cache.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

typedef EVP_PKEY *(*pem_read_fn)(BIO *, EVP_PKEY **, pem_password_cb *, void *);

typedef struct {
    size_t length;
    unsigned char *pem;   // the exact PEM text registered (owned)
    EVP_PKEY *key;        // one reference held by the table
} signing_entry;

static pthread_mutex_t signing_lock = PTHREAD_MUTEX_INITIALIZER;
static signing_entry signing[VIGIE_DKIM_SIGNING_KEYS_CAPACITY];
static uint32_t signing_entries;
static uint64_t signing_served, signing_bypassed;

static pthread_once_t real_pem_once = PTHREAD_ONCE_INIT;
static pem_read_fn real_pem_read;

static void find_real_pem(void) {
    void *symbol = dlvsym(RTLD_NEXT, "PEM_read_bio_PrivateKey", "OPENSSL_3.0.0");
    if (symbol == NULL) symbol = dlsym(RTLD_NEXT, "PEM_read_bio_PrivateKey");
    real_pem_read = (pem_read_fn)symbol;
}

static EVP_PKEY *decode_pem(BIO *bio, EVP_PKEY **reuse, pem_password_cb *callback, void *argument) {
    pthread_once(&real_pem_once, find_real_pem);
    if (real_pem_read != NULL) return real_pem_read(bio, reuse, callback, argument);
    return NULL;   // no libcrypto after us: cannot happen when OpenSSL is linked
}

EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bio, EVP_PKEY **reuse, pem_password_cb *callback, void *argument) {
    char *data = NULL;
    long length = (bio != NULL && reuse == NULL && BIO_method_type(bio) == BIO_TYPE_MEM)
        ? BIO_get_mem_data(bio, &data) : -1;
    // libopendkim may hand the key with its terminating NUL: compare without it.
    while (length > 0 && data != NULL && data[length - 1] == '\0') length--;
    if (length > 0 && data != NULL) {
        pthread_mutex_lock(&signing_lock);
        for (uint32_t i = 0; i < signing_entries; i++) {
            signing_entry *entry = &signing[i];
            if (entry->length == (size_t)length && memcmp(entry->pem, data, (size_t)length) == 0
                && EVP_PKEY_up_ref(entry->key) == 1) {
                signing_served++;
                EVP_PKEY *key = entry->key;
                pthread_mutex_unlock(&signing_lock);
                // The caller owns one reference and frees it as it would a decoded key.
                return key;
            }
        }
        signing_bypassed++;
        pthread_mutex_unlock(&signing_lock);
    }
    return decode_pem(bio, reuse, callback, argument);
}

int vigie_dkim_signing_keys_set(const unsigned char *const *pems, const size_t *lengths, uint32_t count) {
    if (count > VIGIE_DKIM_SIGNING_KEYS_CAPACITY) return 0;
    signing_entry fresh[VIGIE_DKIM_SIGNING_KEYS_CAPACITY];
    memset(fresh, 0, sizeof fresh);
    for (uint32_t i = 0; i < count; i++) {
        BIO *bio = BIO_new_mem_buf(pems[i], (int)lengths[i]);
        EVP_PKEY *key = bio != NULL ? decode_pem(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        unsigned char *copy = key != NULL ? malloc(lengths[i]) : NULL;
        if (copy == NULL) {
            EVP_PKEY_free(key);
            for (uint32_t j = 0; j < i; j++) { EVP_PKEY_free(fresh[j].key); free(fresh[j].pem); }
            return 0;
        }
        memcpy(copy, pems[i], lengths[i]);
        fresh[i] = (signing_entry){ .length = lengths[i], .pem = copy, .key = key };
    }
    pthread_mutex_lock(&signing_lock);
    signing_entry old[VIGIE_DKIM_SIGNING_KEYS_CAPACITY];
    uint32_t old_count = signing_entries;
    memcpy(old, signing, sizeof old);
    memcpy(signing, fresh, sizeof fresh);
    signing_entries = count;
    pthread_mutex_unlock(&signing_lock);
    // Handles signing with an old key hold their own reference.
    for (uint32_t i = 0; i < old_count; i++) { EVP_PKEY_free(old[i].key); free(old[i].pem); }
    return 1;
}

vigie_dkim_signing_keys_stats vigie_dkim_signing_keys_statistics(void) {
    pthread_mutex_lock(&signing_lock);
    vigie_dkim_signing_keys_stats result = { .served = signing_served, .bypassed = signing_bypassed, .entries = signing_entries };
    pthread_mutex_unlock(&signing_lock);
    return result;
}
