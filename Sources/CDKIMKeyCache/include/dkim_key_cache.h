#ifndef VIGIE_DKIM_KEY_CACHE_H
#define VIGIE_DKIM_KEY_CACHE_H
// The decoded-public-key cache under libopendkim (docs/ARCHITECTURE.md, "DKIM keys").
//
// libopendkim 2.11 decodes a signer's RSA key with OpenSSL's d2i_PUBKEY_bio on every
// signature it verifies, and has no hook to hand it an already-decoded key. OpenSSL
// 3's decoder is slow: about 45% of the inbound role's instructions per DKIM-signed
// message (benchmarks/README.md). This target defines d2i_PUBKEY_bio in the vigie
// executable, so libopendkim's call lands here first (ELF symbol interposition, as
// malloc replacements do); the bytes are looked up in a small table and the decoded
// EVP_PKEY is shared, reference-counted, instead of decoded again.
//
// Correct whatever the DNS says: the table is keyed by the exact key bytes, so a
// rotated key is a different entry and a revoked one (p= empty) never reaches the
// decoder. How long a key is used is the DNS cache's business (its TTL); this table
// only spares the decoding of bytes already seen. Any call that is not libopendkim's
// pattern (a memory BIO and no object to reuse) goes straight to OpenSSL's.

#include <stddef.h>
#include <stdint.h>

/// Decoded keys the table holds at most; the least recently used is dropped first.
#define VIGIE_DKIM_KEY_CACHE_CAPACITY 256
/// Longest key cached, in DER bytes (libopendkim's key buffer is 8 KiB).
#define VIGIE_DKIM_KEY_CACHE_MAX_KEY_BYTES 8192

typedef struct {
    uint64_t hits;
    uint64_t misses;
    /// Calls passed through untouched: not a memory BIO, an object to reuse, too large.
    uint64_t bypassed;
    uint32_t entries;
} vigie_dkim_key_cache_stats;

/// Counts since start (or since the last flush).
vigie_dkim_key_cache_stats vigie_dkim_key_cache_statistics(void);

/// Drops every cached key (tests; a reload may call it too).
void vigie_dkim_key_cache_flush(void);

/// 1 when libopendkim's calls reach this table (the interposition took effect in this
/// process), 0 when they go to OpenSSL's directly: then everything still verifies,
/// only uncached. Measured by decoding a key through the same symbol libopendkim uses.
int vigie_dkim_key_cache_is_interposed(void);

// ---- Signing keys (dkim_signing_keys.c)
//
// libopendkim 2.11 decodes the private key again for every message it signs
// (PEM_read_bio_PrivateKey on the key text dkim_sign was given), and the RSA
// object it then signs with is new each time, so OpenSSL also recomputes its
// Montgomery and blinding set-up per message. The sign role registers its keys
// here at start and at reload (already decoded); PEM_read_bio_PrivateKey, defined
// in the executable like d2i_PUBKEY_bio above, hands libopendkim the registered
// key, reference-counted, when the text it reads is exactly a registered key's. Any
// other text or caller goes to OpenSSL's own function.

/// Keys registered at most (the key table's entries).
#define VIGIE_DKIM_SIGNING_KEYS_CAPACITY 64

typedef struct {
    /// Decodings answered with a registered key.
    uint64_t served;
    /// Memory-BIO decodings of text that is no registered key (passed to OpenSSL).
    uint64_t bypassed;
    uint32_t entries;
} vigie_dkim_signing_keys_stats;

/// Replaces the registered keys with these PEM texts (decoded here). Returns 1, or 0
/// (nothing replaced) when one does not decode or there are too many.
int vigie_dkim_signing_keys_set(const unsigned char *const *pems, const size_t *lengths, uint32_t count);

vigie_dkim_signing_keys_stats vigie_dkim_signing_keys_statistics(void);

#endif
