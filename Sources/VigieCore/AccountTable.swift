/// The accounts of one shard: a dictionary from name to slot number, and the entries
/// themselves in one dense array.
///
/// Why not `[AccountName: AccountEntry]`: a Dictionary keeps its values in an array
/// as long as its bucket count, a power of two at most three quarters full, so an
/// account table just past a power of two pays for up to 2.7 entries per account
/// (~500 bytes per account at 100k accounts, benchmarks/ PolicyMemory). Here only
/// 4-byte slot numbers pay for the empty buckets, and the entry array grows by a
/// quarter at a time. Slots freed by idle accounts are reused.
struct AccountTable: Sequence {
    private var slots: [AccountName: Int32] = [:]
    private var entries: [AccountEntry] = []
    /// Slots of removed accounts, reused before the array grows.
    private var vacant: [Int32] = []

    var count: Int { slots.count }
    var keys: Dictionary<AccountName, Int32>.Keys { slots.keys }

    subscript(account: AccountName) -> AccountEntry? {
        slots[account].map { entries[Int($0)] }
    }

    /// Runs `body` on the entry of `account` (created if absent), in place.
    mutating func modify<Result>(_ account: AccountName, _ body: (inout AccountEntry) -> Result) -> Result {
        let slot = slot(for: account, creating: AccountEntry())
        return body(&entries[slot])
    }

    /// Runs `body` on the entry of `account` in place; nil (and nothing created) when
    /// the account has none.
    mutating func modifyExisting<Result>(_ account: AccountName, _ body: (inout AccountEntry) -> Result) -> Result? {
        guard let slot = slots[account] else { return nil }
        return body(&entries[Int(slot)])
    }

    private mutating func slot(for account: AccountName, creating fallback: @autoclosure () -> AccountEntry) -> Int {
        if let slot = slots[account] { return Int(slot) }
        let slot: Int
        if let reused = vacant.popLast() {
            slot = Int(reused)
            entries[slot] = fallback()
        } else {
            if entries.count == entries.capacity {
                entries.reserveCapacity(entries.count + entries.count / 4 + 16)
            }
            slot = entries.count
            entries.append(fallback())
        }
        slots[account] = Int32(slot)
        return slot
    }

    mutating func remove(_ account: AccountName) {
        guard let slot = slots.removeValue(forKey: account) else { return }
        entries[Int(slot)] = AccountEntry()  // lets go of the shared limits and evidence now
        vacant.append(slot)
    }

    func makeIterator() -> some IteratorProtocol<(key: AccountName, value: AccountEntry)> {
        let entries = self.entries
        return slots.lazy.map { (key: $0.key, value: entries[Int($0.value)]) }.makeIterator()
    }
}
