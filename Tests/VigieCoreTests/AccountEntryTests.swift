import Testing
@testable import VigieCore

/// Bytes per tracked account, as the layouts stand (PolicyMemory measures the whole).
@Suite("Account entry layout")
struct AccountEntryLayoutTests {
    @Test func theHistoryHasNoHoles() {
        // Its fields add up to 260 bytes; declared out of order they leave padding,
        // paid by every tracked account.
        #expect(MemoryLayout<SendingHistory>.size <= 260)
    }

    @Test func anEntryStaysWithinItsBudget() {
        // Counters 88, limits 16, evidence 40, history 260, the dirty flag.
        #expect(MemoryLayout<AccountEntry>.stride <= 408)
    }
}
