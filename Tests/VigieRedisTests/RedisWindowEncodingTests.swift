import Testing
import VigieCore
@testable import VigieRedis

/// The counting calls' pieces that are laid out once (`WindowEncodings`) and the
/// scripts' packed reply (`DecimalFields`).
@Suite struct RedisWindowEncodingTests {
    /// The encodings are kept by the whole list of windows, not by their names: a
    /// limit changed by a reload (same names) must reach the script at once.
    @Test func aChangedLimitIsSentWithTheSameNames() throws {
        let redis = try RedisFixture()
        let counters = try RedisSharedCounters(options: redis.options)
        let account = AccountName(normalized: "encodings")
        func windows(_ limit: Int) -> [RedisSharedCounters.Window] {
            [.init(name: "messages/minute", length: .seconds(60), limit: limit, metric: .messages, role: .limit)]
        }
        #expect(try counters.commit(account: account, recipients: 1, windows: windows(1)).verdict == .accept)
        #expect(try counters.commit(account: account, recipients: 1, windows: windows(1)).verdict == .refuse)
        #expect(try counters.commit(account: account, recipients: 1, windows: windows(5)).verdict == .accept)
        #expect(try counters.check(account: account, recipients: 1, windows: windows(2), refusalThreshold: nil,
                                   countRefusal: false).verdict == .refuse)
        // More distinct lists than the table holds: each still decides on its own limit.
        for limit in 10..<(10 + RedisSharedCounters.WindowEncodings.capacity + 4) {
            let outcome = try counters.check(account: account, recipients: 1, windows: windows(limit), refusalThreshold: nil,
                                             countRefusal: false)
            #expect(outcome.verdict == .accept)
        }
        #expect(try counters.commit(account: account, recipients: 1, windows: windows(2)).verdict == .refuse)
    }

    @Test func decimalFieldsReadWhatTheScriptsWrite() {
        var fields = DecimalFields(Array("1764777600000 0 -3 1".utf8))
        #expect(fields.next() == 1_764_777_600_000)
        #expect(fields.next() == 0)
        #expect(fields.next() == -3)
        #expect(fields.next() == 1)
        #expect(fields.isAtEnd)
        #expect(fields.next() == nil)
    }

    /// The numbers of `text` if it reads whole, nil if it stops early.
    private func readWhole(_ text: String) -> [Int64]? {
        var fields = DecimalFields(Array(text.utf8))
        var read: [Int64] = []
        while let number = fields.next() { read.append(number) }
        return fields.isAtEnd ? read : nil
    }

    @Test func decimalFieldsReadWholeLists() {
        #expect(readWhole("") == [])
        #expect(readWhole("7") == [7])
        #expect(readWhole("12 -4 0") == [12, -4, 0])
    }

    @Test(arguments: [" ", "1 ", "1  2", " 1", "a", "1.5", "-", "1e3", "1234567890123456789", "--1", "1 x"])
    func decimalFieldsRefuseAnythingElse(text: String) {
        #expect(readWhole(text) == nil, "\"\(text)\" read as \(String(describing: readWhole(text)))")
    }
}
