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
