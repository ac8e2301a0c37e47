import Testing
@testable import VigieCore

/// The entry's history is out of line: copies of an entry must still be values.
@Suite("Account entry history")
struct AccountEntryHistoryTests {
    @Test func aCopyKeepsItsHistoryWhenTheOriginalLearns() {
        var entry = AccountEntry()
        entry.history.messages = 1
        let copy = entry
        entry.history.messages = 2
        #expect(copy.history.messages == 1)
        #expect(entry.history.messages == 2)
    }

    @Test func anEntryThatNeverLearntReadsAnEmptyHistory() {
        let entry = AccountEntry()
        #expect(entry.history.isEmpty)
        #expect(entry.history == SendingHistory())
    }
}
