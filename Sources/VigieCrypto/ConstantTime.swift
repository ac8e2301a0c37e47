internal import COpenSSL

/// Comparisons whose running time does not depend on where two secrets differ.
public enum ConstantTime {
    /// True when `a` and `b` hold the same bytes. Lengths are compared first (they are
    /// not secret: an SRS hash has a public, fixed length). The corresponding C
    /// function is `CRYPTO_memcmp`.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { left in
            b.withUnsafeBytes { right in
                CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0
            }
        }
    }
}
