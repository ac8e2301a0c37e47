/// "Has this account written to this recipient (or domain) before?", in a fixed
/// number of bytes whatever the account's address book.
///
/// Two Bloom filters of `words` × 64 bits with two probes each: `current` takes new
/// items, and when it holds `rotateAfter` of them it becomes `previous` and a fresh
/// one starts. A lookup asks both. So the sketch remembers at least the last
/// `rotateAfter` distinct items and at most twice that, forgets correspondents
/// nobody wrote to for a long time, and never saturates (a saturated filter would
/// call every stranger known). Asking both filters, false "known" answers stay
/// around 6% (`rotateAfter` = bits / 10, so each filter is at most 18% full;
/// RecipientSketchTests measures it); a false "known" only ever lowers suspicion. There are no false "unknown" answers for the items it remembers.
struct NoveltySketch: Sendable, Equatable {
    /// 64-bit words per filter: 512 bits each.
    static let words = 8
    var current: InlineArray<8, UInt64> = .init(repeating: 0)
    var previous: InlineArray<8, UInt64> = .init(repeating: 0)
    /// Items inserted into `current` since it started.
    var insertedSinceRotation: UInt16 = 0

    static var rotateAfter: Int { words * 64 / 10 }

    init() {}

    static func == (lhs: Self, rhs: Self) -> Bool {
        guard lhs.insertedSinceRotation == rhs.insertedSinceRotation else { return false }
        for index in 0..<Self.words where lhs.current[index] != rhs.current[index] || lhs.previous[index] != rhs.previous[index] {
            return false
        }
        return true
    }

    private static func probes(_ hash: UInt64) -> (word1: Int, bit1: UInt64, word2: Int, bit2: UInt64) {
        let bits = UInt64(Self.words * 64)
        let first = hash % bits
        let second = (hash >> 32 | hash << 32) % bits
        return (Int(first / 64), 1 << (first % 64), Int(second / 64), 1 << (second % 64))
    }

    func contains(_ hash: UInt64) -> Bool {
        let p = Self.probes(hash)
        return (current[p.word1] & p.bit1 != 0 && current[p.word2] & p.bit2 != 0)
            || (previous[p.word1] & p.bit1 != 0 && previous[p.word2] & p.bit2 != 0)
    }

    /// Remembers `hash`; returns whether it was already known.
    @discardableResult
    mutating func insert(_ hash: UInt64) -> Bool {
        let p = Self.probes(hash)
        if current[p.word1] & p.bit1 != 0 && current[p.word2] & p.bit2 != 0 { return true }
        let wasKnown = previous[p.word1] & p.bit1 != 0 && previous[p.word2] & p.bit2 != 0
        if Int(insertedSinceRotation) >= Self.rotateAfter {
            previous = current
            current = .init(repeating: 0)
            insertedSinceRotation = 0
        }
        current[p.word1] |= p.bit1
        current[p.word2] |= p.bit2
        insertedSinceRotation += 1
        return wasKnown
    }

}
