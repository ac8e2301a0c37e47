import Foundation
import Testing
import VigieCore
@testable import VigieStore

/// Sending histories (issue 10) through a real SQLite file: what detection learnt
/// survives a restart, an unreadable row is skipped, and a file of the previous
/// schema is migrated without losing its counters.
@Suite struct HistoryPersistenceTests {
    final class FixedClock: TimeSource, @unchecked Sendable {
        // Only the test thread moves it, between calls.
        var current: UnixTime
        init(_ start: UnixTime) { current = start }
        func now() -> UnixTime { current }
    }
    struct NoGroups: GroupDirectory { func groups(of account: AccountName) -> [String] { [] } }

    static let settings: PolicySettings = {
        var settings = PolicySettings(limits: LimitPolicy(defaults: SendLimitsLayer()), burst: .disabled)
        settings.detection = DetectionSettings()
        return settings
    }()
    static let start = UnixTime(seconds: 1_772_409_600)
    static let camille = AccountName(normalized: "camille")

    func policy(_ store: SQLiteStateStore, _ clock: FixedClock) -> SendPolicy {
        SendPolicy(settings: Self.settings, groups: NoGroups(), store: store, clock: clock)
    }

    /// Ten days of camille writing to her three friends from home.
    func learn(_ policy: SendPolicy, _ clock: FixedClock) {
        for day in 0..<10 {
            clock.current = Self.start + .seconds(Int64(day) * 86_400 + 18 * 3600)
            var signals = MessageSignals(network: NetworkPrefix(clientAddress: "82.64.10.7"))
            for friend in ["ana@example.org", "bea@example.net", "cy@example.com"] { signals.add(recipient: "<\(friend)>") }
            _ = policy.commit(account: Self.camille, recipients: 3, queueID: "Q\(day)", signals: signals)
        }
        policy.flushCounters()
    }

    @Test func aHistoryIsThereAfterRestart() throws {
        let directory = try TemporaryDirectory()
        let clock = FixedClock(Self.start)
        let first = policy(try SQLiteStateStore(path: directory.file("state.sqlite")), clock)
        learn(first, clock)
        let before = try #require(first.detectionReport(account: Self.camille, memberOf: []))

        let second = policy(try SQLiteStateStore(path: directory.file("state.sqlite")), clock)
        try second.restore()
        let after = try #require(second.detectionReport(account: Self.camille, memberOf: []))
        #expect(after == before)
        #expect(after.messages == 10)
        #expect(after.networks.map(\.network) == ["82.64.10.0/24"])
        #expect(after.networks.first?.established == true)

        // And it still knows her friends: a message to them from home scores nothing.
        clock.current = Self.start + .seconds(10 * 86_400 + 18 * 3600)
        var signals = MessageSignals(network: NetworkPrefix(clientAddress: "82.64.10.9"))
        signals.add(recipient: "<ana@example.org>")
        _ = second.commit(account: Self.camille, recipients: 1, queueID: "Q10", signals: signals)
        #expect(second.explain(account: Self.camille).isEmpty)
    }

    @Test func anUnreadableHistoryIsSkippedNotFatal() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let clock = FixedClock(Self.start)
        learn(policy(try SQLiteStateStore(path: path), clock), clock)
        let db = try SQLiteConnection(path: path)
        try db.execute("UPDATE histories SET snapshot = x'0203' WHERE account = 'camille'")
        try db.execute("INSERT INTO histories VALUES ('bob', zeroblob(259), 0)")
        let store = try SQLiteStateStore(path: path)
        #expect(try store.loadHistories().isEmpty)
        try policy(store, clock).restore()
    }

    @Test func aFileOfSchemaOneKeepsItsCountersWhenMigrated() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        do {
            // What Vigie before issue 10 wrote: schema 1 only, with one counters row.
            let db = try SQLiteConnection(path: path)
            try db.execute(SQLiteSchema.migrations[0])
            try db.execute("PRAGMA user_version = 1")
            var counters = AccountCounters()
            counters.lastActivity = 1_772_409_600_000
            counters.refusalsInARow = 3
            let bytes = counters.snapshotBytes()
            let insert = try db.prepare("INSERT INTO counters VALUES ('camille', ?1, 0)")
            try bytes.withUnsafeBytes { try insert.bind(blob: $0, at: 1) }
            try insert.run()
        }
        let store = try SQLiteStateStore(path: path)
        #expect(try store.loadCounters().map(\.1.refusalsInARow) == [3])
        #expect(try store.loadHistories().isEmpty)
    }
}
