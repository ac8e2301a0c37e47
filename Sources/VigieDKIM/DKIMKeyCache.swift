internal import CDKIMKeyCache

/// The decoded-key cache libopendkim's key decoding goes through (Sources/CDKIMKeyCache).
///
/// Nothing here changes a verdict: the cache is keyed by the exact key bytes the DNS
/// returned, so it answers only "these bytes decode to this key", which is what
/// OpenSSL would answer again. What it saves is OpenSSL 3's decoder on every
/// signature of a signer already seen.
public enum DKIMKeyCache {
    public struct Statistics: Sendable, Equatable {
        public var hits: UInt64
        public var misses: UInt64
        /// Decodings that were not libopendkim's pattern and went to OpenSSL untouched.
        public var bypassed: UInt64
        public var entries: Int
    }

    public static var capacity: Int { Int(VIGIE_DKIM_KEY_CACHE_CAPACITY) }

    /// Whether libopendkim's key decoding reaches the cache in this process (it does in
    /// the vigie and vigiectl executables and the test binaries, which link this module).
    public static var isActive: Bool { vigie_dkim_key_cache_is_interposed() == 1 }

    public static var statistics: Statistics {
        let counts = vigie_dkim_key_cache_statistics()
        return Statistics(hits: counts.hits, misses: counts.misses, bypassed: counts.bypassed, entries: Int(counts.entries))
    }

    /// Drops every decoded key and zeroes the counts.
    public static func flush() { vigie_dkim_key_cache_flush() }
}

/// The signing keys libopendkim is handed already decoded (Sources/CDKIMKeyCache,
/// "signing keys"): libopendkim decodes the PEM text of the key for every message it
/// signs; once registered here, that text is answered with the key decoded at start,
/// and OpenSSL's per-key set-up (Montgomery and blinding values) is kept across
/// messages. A key not registered still signs, decoded each time.
public enum DKIMSigningKeyCache {
    public struct Statistics: Sendable, Equatable {
        public var served: UInt64
        public var bypassed: UInt64
        public var entries: Int
    }

    public static var capacity: Int { Int(VIGIE_DKIM_SIGNING_KEYS_CAPACITY) }

    /// Replaces the registered keys with `keys` (the whole key table, at start and at
    /// each reload). False, with nothing replaced, when there are more than `capacity`.
    @discardableResult
    public static func register(_ keys: [DKIMSigningKey]) -> Bool {
        let texts = keys.map { Array($0.encodedKey.prefix { $0 != 0 }) }
        guard texts.count <= capacity else { return false }
        var pointers: [UnsafeMutablePointer<UInt8>?] = texts.map { text in
            let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, text.count))
            copy.initialize(from: text, count: text.count)
            return copy
        }
        defer { for pointer in pointers { pointer?.deallocate() } }
        let lengths = texts.map(\.count)
        return pointers.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<UInt8>?.self) { constant in
                vigie_dkim_signing_keys_set(constant.baseAddress, lengths, UInt32(texts.count)) == 1
            }
        }
    }

    public static var statistics: Statistics {
        let counts = vigie_dkim_signing_keys_statistics()
        return Statistics(served: counts.served, bypassed: counts.bypassed, entries: Int(counts.entries))
    }
}
