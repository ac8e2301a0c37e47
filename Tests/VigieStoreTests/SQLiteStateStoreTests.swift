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
    @Test func recordsALockWithItsAuditLineAndEvidence() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let lock = AccountLock(account: alice, lockedAt: at(60), actor: "vigie", reason: "12 messages in 10 s")

        let stored = try store.recordLock(lock, evidence: [("4XyZ1", at(51)), ("4XyZ2", at(55))])

        let id = try #require(stored.id)
        var expected = lock
        expected.id = id
        #expect(stored == expected)
        #expect(try store.activeLocks() == [expected])
        #expect(try store.auditTrail(account: alice) == [
            AuditEvent(at: at(60), account: "alice", action: .lock, actor: "vigie", reason: "12 messages in 10 s"),
        ])
        #expect(try store.evidence(account: alice) == [
            LockEvidence(lockID: id, queueID: "4XyZ1", acceptedAt: at(51), tripped: false),
            LockEvidence(lockID: id, queueID: "4XyZ2", acceptedAt: at(55), tripped: false),
        ])
        #expect(try store.auditTrail(account: bob).isEmpty)
        #expect(try store.evidence(account: bob).isEmpty)
    }

    @Test func aSecondLockOfALockedAccountReturnsTheFirst() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let first = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(0), actor: "admin", reason: "password leaked"), evidence: [])

        let second = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(5), actor: "vigie", reason: "burst"), evidence: [("Q1", at(4))])

        #expect(second == first)
        #expect(try store.activeLocks() == [first])
        #expect(try store.auditTrail(account: alice).map(\.action) == [.lock])
        #expect(try store.evidence(account: alice).isEmpty)
    }

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

    @Test func unlockEndsTheLockAndWritesTheAuditLine() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let lock = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])

        let ended = try store.recordUnlock(account: alice, at: at(3600), actor: "root", reason: "password changed")

        #expect(ended == lock)
        #expect(try store.activeLocks().isEmpty)
        #expect(try store.auditTrail(account: alice) == [
            AuditEvent(at: at(0), account: "alice", action: .lock, actor: "vigie", reason: "burst"),
            AuditEvent(at: at(3600), account: "alice", action: .unlock, actor: "root", reason: "password changed"),
        ])
    }

    @Test func unlockingAnAccountThatIsNotLockedWritesNothing() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        _ = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])

        #expect(try store.recordUnlock(account: bob, at: at(1), actor: "root", reason: "why not") == nil)
        #expect(try store.auditTrail(account: bob).isEmpty)
        _ = try store.recordUnlock(account: alice, at: at(2), actor: "root", reason: "done")
        #expect(try store.recordUnlock(account: alice, at: at(3), actor: "root", reason: "again") == nil)
        #expect(try store.auditTrail(account: alice).count == 2)
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

    @Test func relockingAfterAnUnlockMakesANewLock() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let first = try store.recordLock(AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "burst"), evidence: [])
        _ = try store.recordUnlock(account: alice, at: at(10), actor: "root", reason: "ok")

        let second = try store.recordLock(AccountLock(account: alice, lockedAt: at(20), actor: "vigie", reason: "burst again"), evidence: [])

        #expect(second.id != first.id)
        #expect(try store.activeLocks() == [second])
    }

    @Test func activeLocksAreOldestFirstAcrossAccounts() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let bobs = try store.recordLock(AccountLock(account: bob, lockedAt: at(5), actor: "vigie", reason: "b"), evidence: [])
        let alices = try store.recordLock(AccountLock(account: alice, lockedAt: at(9), actor: "vigie", reason: "a"), evidence: [])
        #expect(try store.activeLocks() == [bobs, alices])
    }
}

@Suite struct AuditAndEvidenceTests {
    @Test func recordsOtherAuditActionsInOrder() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let events = [
            AuditEvent(at: at(1), account: "alice", action: .reset, actor: "root", reason: "new term"),
            AuditEvent(at: at(2), account: "alice", action: .hold, actor: "root", reason: "look at queue"),
            AuditEvent(at: at(3), account: "bob", action: .purge, actor: "root", reason: "spam"),
            AuditEvent(at: at(4), account: "alice", action: .release, actor: "root", reason: "false alarm"),
        ]
        for event in events { try store.recordAudit(event) }

        #expect(try store.auditTrail(account: alice) == events.filter { $0.account == "alice" })
        #expect(try store.auditTrail(account: bob) == [events[2]])
    }

    @Test func keepsTextExactly() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let reason = "quote ' and \"double\", percent %s, accents é, emoji 📨, newline\nend"
        try store.recordAudit(AuditEvent(at: at(0), account: "alice", action: .reset, actor: "ad'min", reason: reason))
        let event = try #require(try store.auditTrail(account: alice).first)
        #expect(event.reason == reason)
        #expect(event.actor == "ad'min")
    }

    @Test func addsTheTrippedMessageToALock() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let lock = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(10), actor: "vigie", reason: "burst"), evidence: [("A1", at(8))])
        let id = try #require(lock.id)

        let tripped = LockEvidence(lockID: id, queueID: "A2", acceptedAt: at(10), tripped: true)
        try store.addEvidence(tripped)
        try store.addEvidence(tripped)  // a retry does not duplicate it

        #expect(try store.evidence(account: alice) == [
            LockEvidence(lockID: id, queueID: "A1", acceptedAt: at(8), tripped: false),
            tripped,
        ])
    }

    @Test func evidenceForAnUnknownLockIsRefused() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let error = try #require(throws: SQLiteError.self) {
            try store.addEvidence(LockEvidence(lockID: 42, queueID: "Q", acceptedAt: at(0), tripped: true))
        }
        #expect(error.code == .constraint)
        #expect(error.description.contains("cannot record evidence Q for lock 42 in"))
    }

    @Test func evidenceListsTheNewestLockFirst() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let old = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(0), actor: "vigie", reason: "first"), evidence: [("OLD2", at(-1)), ("OLD1", at(-2))])
        _ = try store.recordUnlock(account: alice, at: at(100), actor: "root", reason: "ok")
        let new = try store.recordLock(
            AccountLock(account: alice, lockedAt: at(200), actor: "vigie", reason: "second"), evidence: [("NEW1", at(199))])
        _ = try store.recordLock(AccountLock(account: bob, lockedAt: at(300), actor: "vigie", reason: "other"), evidence: [("BOB", at(299))])

        let evidence = try store.evidence(account: alice)
        #expect(evidence.map(\.queueID) == ["NEW1", "OLD1", "OLD2"])
        #expect(evidence.map(\.lockID) == [new.id, old.id, old.id].compactMap { $0 })
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
