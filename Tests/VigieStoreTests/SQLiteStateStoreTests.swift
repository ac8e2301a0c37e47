import Foundation
import Testing
import VigieCore
@testable import VigieStore

private let alice = AccountName(normalized: "alice")
private let bob = AccountName(normalized: "bob")

private func at(_ seconds: Int64) -> UnixTime { UnixTime(seconds: 1_750_000_000 + seconds) }

@Suite struct SchemaTests {
    @Test func migratesAnEmptyDirectoryToTheCurrentSchema() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        _ = try SQLiteStateStore(path: path)

        let db = try SQLiteConnection(path: path)
        #expect(try db.scalarInt64("PRAGMA user_version") == SQLiteSchema.currentVersion)
        #expect(try db.scalarText("PRAGMA journal_mode") == "wal")
        let tables = try db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        var names: [String] = []
        while try tables.step() { names.append(tables.text(at: 0)) }
        #expect(names == ["audit", "counters", "evidence", "histories", "locks"])
    }

    @Test func migratesAZeroLengthFile() throws {
        // What `install -m 0600 /dev/null state.sqlite` in a package script leaves.
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let store = try SQLiteStateStore(path: path)
        #expect(try store.activeLocks().isEmpty)
    }

    @Test func opensAnUpToDateFileWithoutMigratingAgain() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        _ = try SQLiteStateStore(path: path)
        // A second migration 0 would fail on CREATE TABLE locks.
        _ = try SQLiteStateStore(path: path)
    }

    @Test func refusesAFileFromANewerVigie() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        _ = try SQLiteStateStore(path: path)
        try SQLiteConnection(path: path).execute("PRAGMA user_version = 99")

        let error = try #require(throws: SQLiteError.self) { try SQLiteStateStore(path: path) }
        #expect(error.description.contains(path))
        #expect(error.description.contains("schema version 99, newer than"))
        #expect(error.remedy != nil)
    }

    @Test func configuresTheConnectionForDurability() throws {
        let directory = try TemporaryDirectory()
        let db = try SQLiteConnection(path: directory.file("state.sqlite"))
        #expect(try db.scalarInt64("PRAGMA synchronous") == 2)  // FULL
        #expect(try db.scalarInt64("PRAGMA foreign_keys") == 1)
        #expect(try db.scalarInt64("PRAGMA busy_timeout") == Int64(SQLiteConnection.defaultBusyTimeoutMilliseconds))
    }
}

@Suite struct LockTests {


    @Test func twoConnectionsCannotBothLockAnAccount() throws {
        // The daemon and vigiectl each have their own connection to the file.
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let daemon = try SQLiteStateStore(path: path)
        let admin = try SQLiteStateStore(path: path)

        let byAdmin = try admin.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "root", reason: "manual"), evidence: [])
        let byDaemon = try daemon.recordLock(AccountLock(account: alice, lockedAt: at(1), actor: "vigie", reason: "burst"), evidence: [])

        #expect(byDaemon == byAdmin)
        #expect(try daemon.activeLocks().count == 1)
    }

    @Test func theDatabaseItselfRefusesASecondLockInForce() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let store = try SQLiteStateStore(path: path)
        _ = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])

        let db = try SQLiteConnection(path: path)
        let error = try #require(throws: SQLiteError.self) {
            try db.execute("INSERT INTO locks (account, locked_at, actor, reason) VALUES ('alice', 1, 'x', 'y')")
        }
        #expect(error.code == .constraint)
        // An ended lock does not count.
        try db.execute("INSERT INTO locks (account, locked_at, actor, reason, unlocked_at) VALUES ('alice', 1, 'x', 'y', 2)")
    }



    @Test func storesTheUnlockDetailsInTheLocksTable() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let store = try SQLiteStateStore(path: path)
        let lock = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])
        _ = try store.recordUnlock(account: alice, at: at(90), actor: "root", reason: "reset password")

        let row = try SQLiteConnection(path: path).prepare("SELECT unlocked_at, unlocked_by, unlock_reason FROM locks WHERE id = ?1")
        try row.bind(try #require(lock.id), at: 1)
        #expect(try row.step())
        #expect(row.int64(at: 0) == at(90).milliseconds)
        #expect(row.text(at: 1) == "root")
        #expect(row.text(at: 2) == "reset password")
    }


}

@Suite struct AuditAndEvidenceTests {



    @Test func evidenceForAnUnknownLockIsRefused() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let error = try #require(throws: SQLiteError.self) {
            try store.addEvidence(LockEvidence(lockID: 42, queueID: "Q", acceptedAt: at(0), tripped: true))
        }
        #expect(error.code == .constraint)
        #expect(error.description.contains("cannot record evidence Q for lock 42 in"))
    }

}

@Suite struct ReopenTests {
    @Test func reopeningKeepsEverything() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        var counters = AccountCounters()
        counters.messagesPerHour = SlidingWindowCount(windowStart: 3_600_000, previous: 7, current: 3)
        counters.lastActivity = 3_700_000

        let (lock, ended): (AccountLock, AccountLock?)
        do {
            let store = try SQLiteStateStore(path: path)
            lock = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [("Q1", at(-1))])
            let bobs = try store.recordLock(AccountLock(account: bob, lockedAt: at(1), actor: "vigie", reason: "burst"), evidence: [])
            ended = try store.recordUnlock(account: bob, at: at(2), actor: "root", reason: "ok")
            #expect(ended == bobs)
            try store.recordAudit(AuditEvent(at: at(3), account: "alice", action: .hold, actor: "root", reason: "hold queue"))
            try store.saveCounters([(alice, counters)])
        }

        let reopened = try SQLiteStateStore(path: path)
        #expect(try reopened.activeLocks() == [lock])
        #expect(try reopened.auditTrail(account: alice).map(\.action) == [.lock, .hold])
        #expect(try reopened.auditTrail(account: bob).map(\.action) == [.lock, .unlock])
        #expect(try reopened.evidence(account: alice).map(\.queueID) == ["Q1"])
        let loaded = try reopened.loadCounters()
        #expect(loaded.count == 1)
        #expect(loaded.first?.0 == alice)
        #expect(loaded.first?.1 == counters)
    }
}
