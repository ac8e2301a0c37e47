/// The accounts of one shard: each account's name and entry in one dense array of
/// slots, found through an open-addressing index of 4-byte slot numbers.
///
/// Why not `[AccountName: AccountEntry]`: a Dictionary keeps its keys and values in
/// arrays as long as its bucket count, a power of two at most three quarters full,
/// so a table just past a power of two pays for up to 2.7 entries per account. Why
/// not `[AccountName: Int32]` into an entry array either (what this replaced): its
/// 28-byte buckets still cost 37-75 bytes per account (73 at 100k accounts over 64
/// shards, benchmarks/ PolicyMemory). Here only the index's 4-byte slot numbers pay
/// for empty buckets (5-11 bytes per account); the name sits in its slot beside the
/// counters, so a lookup touches the index and then the one slot. The slot array
/// grows by a quarter at a time; slots freed by idle accounts are reused.
///
/// The index probes linearly from a bucket taken from the name's hash (a seeded
/// SipHash, `AccountName`) by Fibonacci hashing, which uses its high bits: the
/// shards split accounts by its low bits. Removal shifts the following entries back
/// (no tombstones), so a lookup's probe never lengthens with churn.
struct AccountTable: Sequence {
    private struct Slot {
        var name: AccountName
        var entry: AccountEntry
    }

    /// Slot numbers by bucket, `empty` where none; a power of two long (or empty).
    private var index: [Int32] = []
    private var slots: [Slot] = []
    /// Slots of removed accounts, reused before the array grows.
    private var vacant: [Int32] = []
    private(set) var count = 0

    private static let empty: Int32 = -1
    /// What a vacant slot holds: nothing of the account that left stays reachable.
    private static let vacantName = AccountName(normalized: "")

    var keys: [AccountName] { map(\.key) }

    subscript(account: AccountName) -> AccountEntry? {
        find(account).slot.map { slots[Int($0)].entry }
    }

    func contains(_ account: AccountName) -> Bool { find(account).slot != nil }

    /// The `count` accounts whose entries have the oldest `lastActivity` among
    /// those `eligible` says may go, oldest first. Reads the entries in place: a
    /// `for (name, entry) in table` would copy each 400-byte entry out.
    func oldest(_ count: Int, eligible: (AccountName, AccountEntry) -> Bool) -> [AccountName] {
        guard count > 0 else { return [] }
        var candidates: [(lastActivity: Int64, slot: Int32)] = []
        candidates.reserveCapacity(self.count)
        for slot in index where slot != Self.empty && eligible(slots[Int(slot)].name, slots[Int(slot)].entry) {
            candidates.append((slots[Int(slot)].entry.packed.lastActivity, slot))
        }
        candidates.sort { $0.lastActivity < $1.lastActivity }
        return candidates.prefix(count).map { slots[Int($0.slot)].name }
    }

    /// Runs `body` on the entry of `account` (created if absent), in place.
    mutating func modify<Result>(_ account: AccountName, _ body: (inout AccountEntry) -> Result) -> Result {
        let slot = slot(for: account)
        return body(&slots[slot].entry)
    }

    /// Runs `body` on the entry of `account` in place; nil (and nothing created) when
    /// the account has none.
    @discardableResult
    mutating func modifyExisting<Result>(_ account: AccountName, _ body: (inout AccountEntry) -> Result) -> Result? {
        guard let slot = find(account).slot else { return nil }
        return body(&slots[Int(slot)].entry)
    }

    mutating func remove(_ account: AccountName) {
        let (bucket, found) = find(account)
        guard let slot = found else { return }
        // Lets go of the shared limits, the evidence and the history now.
        slots[Int(slot)] = Slot(name: Self.vacantName, entry: AccountEntry())
        vacant.append(slot)
        count -= 1
        // Backward-shift deletion: every entry after the hole whose home bucket is
        // not between the hole and itself moves into the hole.
        let mask = index.count - 1
        var hole = bucket
        var next = bucket
        while true {
            next = (next + 1) & mask
            let moving = index[next]
            if moving == Self.empty { break }
            let home = home(slots[Int(moving)].name.hash, mask: mask)
            let staysPut = hole <= next ? (hole < home && home <= next) : (home > hole || home <= next)
            if !staysPut {
                index[hole] = moving
                hole = next
            }
        }
        index[hole] = Self.empty
    }

    func makeIterator() -> some IteratorProtocol<(key: AccountName, value: AccountEntry)> {
        let slots = self.slots
        return index.lazy.filter { $0 != Self.empty }
            .map { (key: slots[Int($0)].name, value: slots[Int($0)].entry) }.makeIterator()
    }

    // MARK: The index

    private static func home(_ hash: Int, mask: Int) -> Int {
        // The top bits of the product: `mask + 1` is a power of two, so shift by
        // 64 minus its bit count.
        let product = UInt64(UInt(bitPattern: hash)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: product >> UInt64(64 - (mask + 1).trailingZeroBitCount))
    }

    private func home(_ hash: Int, mask: Int) -> Int { Self.home(hash, mask: mask) }

    /// The bucket holding `account`'s slot, or the empty bucket where it would go.
    private func find(_ account: AccountName) -> (bucket: Int, slot: Int32?) {
        guard !index.isEmpty else { return (0, nil) }
        let mask = index.count - 1
        var bucket = home(account.hash, mask: mask)
        while true {
            let slot = index[bucket]
            if slot == Self.empty { return (bucket, nil) }
            if slots[Int(slot)].name == account { return (bucket, slot) }
            bucket = (bucket + 1) & mask
        }
    }

    private mutating func slot(for account: AccountName) -> Int {
        var (bucket, found) = find(account)
        if let found { return Int(found) }
        // At most three quarters full, so probes stay short and one bucket stays empty.
        if (count + 1) * 4 > index.count * 3 {
            grow()
            bucket = find(account).bucket
        }
        let slot: Int
        if let reused = vacant.popLast() {
            slot = Int(reused)
            slots[slot] = Slot(name: account, entry: AccountEntry())
        } else {
            if slots.count == slots.capacity {
                slots.reserveCapacity(slots.count + slots.count / 4 + 16)
            }
            slot = slots.count
            slots.append(Slot(name: account, entry: AccountEntry()))
        }
        index[bucket] = Int32(slot)
        count += 1
        return slot
    }

    /// Doubles the index and places every account again.
    private mutating func grow() {
        let old = index
        index = Array(repeating: Self.empty, count: Swift.max(16, old.count * 2))
        let mask = index.count - 1
        for slot in old where slot != Self.empty {
            var bucket = home(slots[Int(slot)].name.hash, mask: mask)
            while index[bucket] != Self.empty { bucket = (bucket + 1) & mask }
            index[bucket] = slot
        }
    }
}
