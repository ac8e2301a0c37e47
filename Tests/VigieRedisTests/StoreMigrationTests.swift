// `vigiectl store migrate --to redis`, run as the real binary: a SQLite file made by
// the real SQLite store, a real redis-server, and a RedisStateStore reading back.

import Foundation
import Testing
@testable import VigieCore
import VigieRedis
import VigieStore
import VigieTestKit

private let alice = AccountName(normalized: "alice")
private let bob = AccountName(normalized: "bob")
private let carol = AccountName(normalized: "carol")

private func at(_ seconds: Int64) -> UnixTime { UnixTime(seconds: 1_750_000_000 + seconds) }

private var vigiectl: String {
    ProcessInfo.processInfo.environment["VIGIECTL_BIN"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/.build/debug/vigiectl"
}

/// A state file with every kind of record, a redis-server, and a configuration
/// naming both with backend still "sqlite" (the admin's situation).
private final class MigrationSetup {
    let redis: RedisFixture
    let directory: ScratchDirectory
    let statePath: String
    let configPath: String
    let prefix = "club:"

    init(redisURL: String? = nil) throws {
        redis = try RedisFixture()
        directory = try ScratchDirectory()
        statePath = directory.path + "/state.sqlite"
        let notices = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/conf/notices"
        configPath = try directory.write("vigie.toml", """
            [daemon]
            state_path = "\(statePath)"
            [notices]
            directory = "\(notices)"
            [store]
            backend = "sqlite"
            redis_url = "\(redisURL ?? "unix:" + redis.server.socketPath!)"
            redis_key_prefix = "\(prefix)"
            """)
    }

    /// What the daemon would have written over some weeks.
    func fillState() throws -> SQLiteStateStore {
        let store = try SQLiteStateStore(path: statePath)
        // alice: a burst lock with evidence and its tripped message, unlocked by an
        // admin, a reset, then locked again by hand (in force).
        let burst = try store.recordLock(AccountLock(account: alice, lockedAt: at(60), actor: "vigie", reason: "12 messages in 10 s"),
                                         evidence: [("4AbC1", at(51)), ("4AbC2", at(55))])
        try store.addEvidence(LockEvidence(lockID: burst.id!, queueID: "4AbC3", acceptedAt: at(60), tripped: true))
        _ = try store.recordUnlock(account: alice, at: at(3600), actor: "root", reason: "password changed")
        try store.recordAudit(AuditEvent(at: at(3700), account: "alice", action: .reset, actor: "root", reason: "counters reset"))
        _ = try store.recordLock(AccountLock(account: alice, lockedAt: at(7200), actor: "root", reason: "leaked again"), evidence: [])
        // bob: trust and watch lines, one lock in force.
        try store.recordAudit(AuditEvent(at: at(100), account: "bob", action: .trust, actor: "root", reason: "trusted 192.0.2.0/24"))
        try store.recordAudit(AuditEvent(at: at(200), account: "bob", action: .watch, actor: "vigie", reason: "score 6"))
        _ = try store.recordLock(AccountLock(account: bob, lockedAt: at(300), actor: "vigie", reason: "suspicion 9"),
                                 evidence: [("5Bob1", at(290))])
        // Counters for two accounts, a history for three.
        try store.saveCounters([(alice, RedisSnapshotTests.distinctCounters(seed: 1)), (carol, RedisSnapshotTests.distinctCounters(seed: 2))])
        var history = SendingHistory()
        history.messages = 12
        history.firstSeenHour = 480_000
        var other = history
        other.messages = 99
        try store.saveHistories([(alice, history), (bob, other), (carol, history)])
        return store
    }

    func migrate(_ arguments: String...) throws -> ProcessResult {
        try ProcessRunner.run(vigiectl, ["store", "migrate", "--config", configPath] + arguments, timeout: 60)
    }
}

@Suite("vigiectl store migrate --to redis (real binary, real redis-server)", .serialized)
struct StoreMigrationTests {
    @Test func copiesLocksAuditEvidenceCountersAndHistoriesAsTheRedisStoreReadsThem() throws {
        let setup = try MigrationSetup()
        let sqlite = try setup.fillState()

        let run = try setup.migrate("--to", "redis")

        #expect(run.succeeded, "\(run)")
        #expect(run.stdout.contains("2 accounts with records: 2 locks in force, 1 ended locks, 7 audit lines, 4 queue ids of evidence; counters of 2 accounts, sending histories of 3"), "\(run.stdout)")
        let redis = try setup.redis.store(prefix: setup.prefix)
        try expectSameState(sqlite, redis)
        // Lock ids are SQLite's, and the next lock on Redis gets a new one.
        let next = try redis.recordLock(AccountLock(account: carol, lockedAt: at(9000), actor: "vigie", reason: "burst"), evidence: [])
        #expect(next.id == 4)
    }

    @Test func refusesAPrefixThatHoldsStateUnlessForcedAndAForcedRunDuplicatesNothing() throws {
        let setup = try MigrationSetup()
        let sqlite = try setup.fillState()
        #expect(try setup.migrate("--to", "redis").succeeded)
        let redis = try setup.redis.store(prefix: setup.prefix)

        let refused = try setup.migrate("--to", "redis")
        #expect(refused.status == 1)
        #expect(refused.stdout.isEmpty)
        let line = refused.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!line.contains("\n"), "one line: \(line)")
        #expect(line.contains("already holds Vigie state (2 locks in force, 3 locks, 2 audit trails, 2 evidence sets, 2 counter snapshots, 3 sending histories"), "\(line)")
        #expect(line.contains("--force"))

        let dryRun = try setup.migrate("--to", "redis", "--dry-run")
        #expect(dryRun.succeeded, "\(dryRun)")
        #expect(dryRun.stdout.contains("dry run, nothing written"))
        #expect(dryRun.stdout.contains("7 audit lines"))

        // A lock taken on Redis after the first copy goes with --force: the SQLite
        // state is what the prefix holds afterwards, once.
        _ = try redis.recordLock(AccountLock(account: carol, lockedAt: at(9000), actor: "vigie", reason: "burst"), evidence: [])
        let forced = try setup.migrate("--to", "redis", "--force")
        #expect(forced.succeeded, "\(forced)")
        #expect(forced.stdout.contains("replacing"))
        try expectSameState(sqlite, redis)
        #expect(try redis.auditTrail(account: carol).isEmpty)
        #expect(try redis.activeLocks().map(\.account) == ["bob", "alice"])
    }

    @Test func aDryRunWritesNothing() throws {
        let setup = try MigrationSetup()
        _ = try setup.fillState()

        let run = try setup.migrate("--to", "redis", "--dry-run", "--json")

        #expect(run.succeeded, "\(run)")
        #expect(run.stdout.contains("\"locksInForce\" : 2"), "\(run.stdout)")
        #expect(try setup.redis.store(prefix: setup.prefix).inventory().isEmpty)
    }

    @Test func aRedisThatDoesNotAnswerIsOneLineNamingWhereItTried() throws {
        let setup = try MigrationSetup(redisURL: "redis://127.0.0.1:1/0")
        _ = try setup.fillState()

        let run = try setup.migrate("--to", "redis")

        #expect(run.status == 1)
        let line = run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix("vigiectl: cannot connect to redis 127.0.0.1:1"), "\(line)")
        #expect(!line.contains("\n"))
    }
}

/// Everything the `StateStore` calls show, the same from both stores.
private func expectSameState(_ sqlite: SQLiteStateStore, _ redis: RedisStateStore) throws {
    #expect(try redis.activeLocks() == sqlite.activeLocks())
    for account in [alice, bob, carol] {
        #expect(try redis.auditTrail(account: account) == sqlite.auditTrail(account: account), "\(account)")
        #expect(try redis.evidence(account: account) == sqlite.evidence(account: account), "\(account)")
    }
    #expect(try redis.loadCounters().sorted { $0.0 < $1.0 }.map(\.1) == sqlite.loadCounters().sorted { $0.0 < $1.0 }.map(\.1))
    #expect(try redis.loadCounters().map(\.0.value).sorted() == ["alice", "carol"])
    #expect(try redis.loadHistories().sorted { $0.0 < $1.0 }.map(\.1) == sqlite.loadHistories().sorted { $0.0 < $1.0 }.map(\.1))
    #expect(try redis.loadHistories().count == 3)
}
