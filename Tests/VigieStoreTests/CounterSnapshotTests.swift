import Testing
import VigieCore
@testable import VigieStore

/// Counters whose every field holds a different value, including the extremes, so
/// that two swapped fields or a truncated integer cannot round-trip unnoticed.
private func distinctCounters(seed: Int64 = 0) -> AccountCounters {
    var counters = AccountCounters()
    counters.messagesPerMinute = SlidingWindowCount(windowStart: 1_750_000_000_000 + seed, previous: 1, current: 2)
    counters.messagesPerHour = SlidingWindowCount(windowStart: 1_749_999_600_000 + seed, previous: 3, current: 4)
    counters.messagesPerDay = SlidingWindowCount(windowStart: 1_749_945_600_000 + seed, previous: 5, current: 6)
    counters.recipientsPerMinute = SlidingWindowCount(windowStart: Int64.min, previous: 7, current: 8)
    counters.recipientsPerHour = SlidingWindowCount(windowStart: -1, previous: 0x0102_0304, current: 0x0506_0708)
    counters.recipientsPerDay = SlidingWindowCount(windowStart: Int64.max, previous: UInt32.max, current: UInt32.max - 1)
    counters.burstMessages = SlidingWindowCount(windowStart: 42, previous: UInt32.max - 2, current: 9)
    counters.burstRecipients = SlidingWindowCount(windowStart: 43, previous: 10, current: UInt32.max - 3)
    counters.refusalsInARow = UInt32.max - 4
    counters.lastActivity = 1_750_000_000_999 + seed
    return counters
}

private func snapshot(of counters: AccountCounters) -> [UInt8] {
    counters.snapshotBytes()
}

private func decode(_ bytes: [UInt8]) -> AccountCounters? {
    bytes.withUnsafeBytes { AccountCounters(snapshot: $0) }
}

@Suite struct CounterSnapshotTests {
    @Test func everyFieldRoundTrips() {
        let counters = distinctCounters()
        #expect(decode(snapshot(of: counters)) == counters)
    }

    @Test func theLayoutIsTheDocumentedOne() {
        var counters = AccountCounters()
        counters.messagesPerMinute = SlidingWindowCount(windowStart: 0x0102_0304_0506_0708, previous: 0x0A0B_0C0D, current: 0x1A1B_1C1D)
        counters.burstRecipients = SlidingWindowCount(windowStart: -2, previous: 1, current: UInt32.max)
        counters.refusalsInARow = 0x2A2B_2C2D
        counters.lastActivity = 0x3132_3334_3536_3738

        let bytes = snapshot(of: counters)

        #expect(bytes.count == 141)
        #expect(bytes[0] == 1)
        #expect(Array(bytes[1..<17]) == [8, 7, 6, 5, 4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A, 0x1D, 0x1C, 0x1B, 0x1A])
        #expect(Array(bytes[17..<113]) == Array(repeating: 0, count: 96))
        #expect(Array(bytes[113..<129]) == [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(Array(bytes[129..<133]) == [0x2D, 0x2C, 0x2B, 0x2A])
        #expect(Array(bytes[133..<141]) == [0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31])
    }

    /// A tripwire: a field added to the counters would silently not be saved.
    @Test func theSnapshotCoversEveryField() {
        let counterFields = Mirror(reflecting: AccountCounters()).children.map(\.label)
        #expect(counterFields == [
            "messagesPerMinute", "messagesPerHour", "messagesPerDay",
            "recipientsPerMinute", "recipientsPerHour", "recipientsPerDay",
            "burstMessages", "burstRecipients", "refusalsInARow", "lastActivity",
        ], "AccountCounters changed: add snapshot version 2 in AccountCounters+Snapshot.swift")
        let windowFields = Mirror(reflecting: SlidingWindowCount()).children.map(\.label)
        #expect(windowFields == ["windowStart", "previous", "current"],
                "SlidingWindowCount changed: add snapshot version 2 in AccountCounters+Snapshot.swift")
    }

    @Test(arguments: [0, 1, 140, 142, 300])
    func aWrongLengthDoesNotDecode(length: Int) {
        var bytes = snapshot(of: distinctCounters())
        bytes = length <= bytes.count ? Array(bytes.prefix(length)) : bytes + Array(repeating: 0, count: length - bytes.count)
        #expect(decode(bytes) == nil)
    }

    @Test(arguments: [0, 2, 255] as [UInt8])
    func anUnknownVersionDoesNotDecode(version: UInt8) {
        var bytes = snapshot(of: distinctCounters())
        bytes[0] = version
        #expect(decode(bytes) == nil)
    }
}

@Suite struct SavedCountersTests {
    @Test func countersRoundTripThroughTheFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let alice = AccountName(normalized: "alice")
        let bob = AccountName(normalized: "bob")
        try SQLiteStateStore(path: path).saveCounters([(alice, distinctCounters(seed: 1)), (bob, distinctCounters(seed: 2))])

        let loaded = try SQLiteStateStore(path: path).loadCounters().sorted { $0.0 < $1.0 }

        #expect(loaded.map(\.0) == [alice, bob])
        #expect(loaded.map(\.1) == [distinctCounters(seed: 1), distinctCounters(seed: 2)])
    }

    @Test func saveReplacesAndNilDeletes() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let alice = AccountName(normalized: "alice")
        let bob = AccountName(normalized: "bob")
        try store.saveCounters([(alice, AccountCounters()), (bob, distinctCounters())])

        var newer = AccountCounters()
        newer.refusalsInARow = 3
        try store.saveCounters([(alice, newer), (bob, nil), (AccountName(normalized: "never-saved"), nil)])

        let loaded = try store.loadCounters()
        #expect(loaded.count == 1)
        #expect(loaded.first?.0 == alice)
        #expect(loaded.first?.1 == newer)
    }

    @Test func savesAndLoadsOneHundredThousandAccounts() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let changes: [(AccountName, AccountCounters?)] = (0..<100_000).map { index in
            var counters = AccountCounters()
            counters.messagesPerDay = SlidingWindowCount(windowStart: Int64(index), previous: UInt32(index), current: UInt32(index * 2))
            counters.lastActivity = Int64(index) * 1000
            return (AccountName(normalized: "member\(index)"), counters)
        }
        let store = try SQLiteStateStore(path: path)

        let clock = ContinuousClock()
        let saving = try clock.measure { try store.saveCounters(changes) }
        let loaded = try SQLiteStateStore(path: path).loadCounters()

        #expect(loaded.count == 100_000)
        let byName = Dictionary(uniqueKeysWithValues: loaded.map { ($0.0.value, $0.1) })
        for index in [0, 1, 4_242, 99_999] {
            #expect(byName["member\(index)"]?.messagesPerDay.current == UInt32(index * 2))
            #expect(byName["member\(index)"]?.lastActivity == Int64(index) * 1000)
        }
        // Generous: the daemon flushes once a second, and a debug build on a slow
        // CI disk must still pass. A per-row transaction would take minutes.
        #expect(saving < .seconds(20))
    }

    @Test func anUnreadableRowIsSkippedAndReported() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let store = try SQLiteStateStore(path: path)
        let alice = AccountName(normalized: "alice")
        try store.saveCounters([(alice, distinctCounters())])

        // A truncated row, a row from a future snapshot version, and a NULL-ish empty blob.
        var future = snapshot(of: distinctCounters())
        future[0] = 2
        let db = try SQLiteConnection(path: path)
        try db.execute("INSERT INTO counters (account, snapshot, updated_at) VALUES ('truncated', x'0102030405', 0)")
        try db.execute("INSERT INTO counters (account, snapshot, updated_at) VALUES ('empty', x'', 0)")
        let insert = try db.prepare("INSERT INTO counters (account, snapshot, updated_at) VALUES ('future', ?1, 0)")
        try future.withUnsafeBytes { try insert.bind(blob: $0, at: 1) }
        try insert.run()

        let (counters, unreadable) = try store.loadCountersSkippingUnreadable()

        #expect(counters.map(\.0) == [alice])
        #expect(counters.map(\.1) == [distinctCounters()])
        #expect(unreadable.map(\.value).sorted() == ["empty", "future", "truncated"])
        #expect(try store.loadCounters().count == 1)
    }

    @Test func anEmptySaveWritesNothing() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try store.saveCounters([])
        #expect(try store.loadCounters().isEmpty)
    }
}
