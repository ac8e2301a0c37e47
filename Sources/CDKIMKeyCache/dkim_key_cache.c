// See include/dkim_key_cache.h for why this file defines an OpenSSL function.
#define _GNU_SOURCE
#include "dkim_key_cache.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

typedef EVP_PKEY *(*d2i_pubkey_bio_fn)(BIO *, EVP_PKEY **);

typedef struct {
    uint64_t hash;
    uint64_t last_used;     // tick of the last hit, for least-recently-used eviction
    size_t length;
    unsigned char *bytes;   // the DER the key was decoded from (owned)
    EVP_PKEY *key;          // one reference held by the table
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry cache[VIGIE_DKIM_KEY_CACHE_CAPACITY];
static uint32_t cache_entries;
static uint64_t cache_tick;
static vigie_dkim_key_cache_stats counts;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static d2i_pubkey_bio_fn real_d2i_pubkey_bio;

static void find_real(void) {
    // The next definition after this executable's: libcrypto's, at the version
    // libopendkim was linked against.
    void *symbol = dlvsym(RTLD_NEXT, "d2i_PUBKEY_bio", "OPENSSL_3.0.0");
    if (symbol == NULL) symbol = dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
    real_d2i_pubkey_bio = (d2i_pubkey_bio_fn)symbol;
}

static EVP_PKEY *decode(BIO *bio, EVP_PKEY **reuse) {
    pthread_once(&real_once, find_real);
    if (real_d2i_pubkey_bio != NULL) return real_d2i_pubkey_bio(bio, reuse);
    // No libcrypto after us (cannot happen when OpenSSL is linked): decode the
    // bytes ourselves with the buffer form, which is not interposed.
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    if (length <= 0 || data == NULL) return NULL;
    const unsigned char *cursor = (const unsigned char *)data;
    return d2i_PUBKEY(reuse, &cursor, length);
}

static uint64_t fnv1a(const unsigned char *bytes, size_t length) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < length; i++) { hash ^= bytes[i]; hash *= 0x100000001b3ULL; }
    return hash;
}

// Called with cache_lock held. Returns the entry for these bytes, or NULL.
static cache_entry *find(uint64_t hash, const unsigned char *bytes, size_t length) {
    for (uint32_t i = 0; i < cache_entries; i++) {
        cache_entry *entry = &cache[i];
        if (entry->hash == hash && entry->length == length && memcmp(entry->bytes, bytes, length) == 0) return entry;
    }
    return NULL;
}

EVP_PKEY *d2i_PUBKEY_bio(BIO *bio, EVP_PKEY **reuse) {
    char *data = NULL;
    long length = (bio != NULL && reuse == NULL && BIO_method_type(bio) == BIO_TYPE_MEM)
        ? BIO_get_mem_data(bio, &data) : -1;
    if (length <= 0 || data == NULL || length > VIGIE_DKIM_KEY_CACHE_MAX_KEY_BYTES) {
        pthread_mutex_lock(&cache_lock);
        counts.bypassed++;
        pthread_mutex_unlock(&cache_lock);
        return decode(bio, reuse);
    }
    const unsigned char *bytes = (const unsigned char *)data;
    uint64_t hash = fnv1a(bytes, (size_t)length);

    pthread_mutex_lock(&cache_lock);
    cache_entry *hit = find(hash, bytes, (size_t)length);
    if (hit != NULL && EVP_PKEY_up_ref(hit->key) == 1) {
        hit->last_used = ++cache_tick;
        counts.hits++;
        EVP_PKEY *key = hit->key;
        pthread_mutex_unlock(&cache_lock);
        // The caller owns one reference and frees it (EVP_PKEY_free) as it would
        // a freshly decoded key; the BIO is left unread, which libopendkim ignores.
        return key;
    }
    counts.misses++;
    pthread_mutex_unlock(&cache_lock);

    // Copy before decoding: the decoder reads the BIO, and the bytes are the key.
    unsigned char *copy = malloc((size_t)length);
    if (copy != NULL) memcpy(copy, bytes, (size_t)length);
    EVP_PKEY *key = decode(bio, NULL);
    if (key == NULL || copy == NULL) { free(copy); return key; }

    pthread_mutex_lock(&cache_lock);
    if (find(hash, copy, (size_t)length) != NULL || EVP_PKEY_up_ref(key) != 1) {
        // Another thread decoded the same key meanwhile: keep its entry.
        pthread_mutex_unlock(&cache_lock);
        free(copy);
        return key;
    }
    cache_entry *slot;
    if (cache_entries < VIGIE_DKIM_KEY_CACHE_CAPACITY) {
        slot = &cache[cache_entries++];
    } else {
        slot = &cache[0];
        for (uint32_t i = 1; i < cache_entries; i++) if (cache[i].last_used < slot->last_used) slot = &cache[i];
        EVP_PKEY_free(slot->key);   // callers still holding it keep their own reference
        free(slot->bytes);
    }
    *slot = (cache_entry){ .hash = hash, .last_used = ++cache_tick, .length = (size_t)length, .bytes = copy, .key = key };
    pthread_mutex_unlock(&cache_lock);
    return key;
}

vigie_dkim_key_cache_stats vigie_dkim_key_cache_statistics(void) {
    pthread_mutex_lock(&cache_lock);
    vigie_dkim_key_cache_stats result = counts;
    result.entries = cache_entries;
    pthread_mutex_unlock(&cache_lock);
    return result;
}

void vigie_dkim_key_cache_flush(void) {
    pthread_mutex_lock(&cache_lock);
    for (uint32_t i = 0; i < cache_entries; i++) { EVP_PKEY_free(cache[i].key); free(cache[i].bytes); }
    memset(cache, 0, sizeof cache);
    cache_entries = 0;
    counts = (vigie_dkim_key_cache_stats){ 0 };
    pthread_mutex_unlock(&cache_lock);
}

int vigie_dkim_key_cache_is_interposed(void) {
    // libopendkim's reference is bound through the global scope, as this lookup is.
    return dlsym(RTLD_DEFAULT, "d2i_PUBKEY_bio") == (void *)d2i_PUBKEY_bio;
}
