import Testing
@testable import VigieCore

/// The shard's account table (open addressing with backward-shift removal) against
/// a Dictionary doing the same operations.
@Suite("Account table")
struct AccountTableTests {
    /// A fixed xorshift sequence: the same operations every run (the names' hashes,
    /// seeded per process, still place them differently each run).
    struct Steps {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    @Test(arguments: [12, 40, 3000])
    func agreesWithADictionaryThroughInsertsAndRemovals(accounts: Int) {
        var table = AccountTable()
        var model: [AccountName: UInt32] = [:]
        var steps = Steps()
        let names = (0..<accounts).map { AccountName(normalized: "member\($0)") }
        for step in 0..<(accounts * 40) {
            let name = names[steps.next(accounts)]
            switch steps.next(3) {
            case 0:
                table.remove(name)
                model[name] = nil
            default:
                let value = UInt32(step)
                table.modify(name) { $0.packed.refusalsInARow = value }
                model[name] = value
            }
            if step % max(7, accounts / 4) == 0 {
                #expect(table.count == model.count)
                for name in names {
                    #expect(table[name]?.packed.refusalsInARow == model[name], "\(name) after step \(step)")
                }
            }
        }
        #expect(Set(table.keys) == Set(model.keys))
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value.packed.refusalsInARow) }) == model)
    }

    @Test func modifyExistingCreatesNothing() {
        var table = AccountTable()
        let alice = AccountName(normalized: "alice")
        #expect(table.modifyExisting(alice) { $0.packed.refusalsInARow = 1 } == nil)
        #expect(table.count == 0 && table[alice] == nil)
        table.modify(alice) { $0.packed.refusalsInARow = 2 }
        #expect(table.modifyExisting(alice) { entry -> UInt32 in entry.packed.refusalsInARow } == 2)
    }

    @Test func aRemovedAccountComesBackEmpty() {
        var table = AccountTable()
        let alice = AccountName(normalized: "alice")
        table.modify(alice) { $0.packed.refusalsInARow = 3; $0.history.messages = 9 }
        table.remove(alice)
        table.modify(alice) { _ in }
        #expect(table[alice]?.packed == PackedCounters())
        #expect(table[alice]?.history == SendingHistory())
    }
}
