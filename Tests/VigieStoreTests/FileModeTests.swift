import Foundation
import Testing
import VigieCore
@testable import VigieStore

/// The state file holds account names and the reasons of every lock: no other local
/// user may read it, nor its write-ahead log (which holds the same rows until a
/// checkpoint) or its shared-memory index.
@Suite struct FileModeTests {
    private func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    private func writeSomething(_ store: SQLiteStateStore) throws {
        _ = try store.recordLock(
            AccountLock(account: AccountName(normalized: "alice"), lockedAt: UnixTime(seconds: 1), actor: "vigie", reason: "burst"),
            evidence: [])
    }

    @Test func aNewStateFileAndItsLogAreOwnerOnly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        // Whatever umask the daemon was started with (systemd's default is 022).
        let previous = umask(0o022)
        defer { umask(previous) }

        let store = try SQLiteStateStore(path: path)
        try writeSomething(store)

        for file in [path, path + "-wal", path + "-shm"] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file)")
            #expect(try mode(file) == 0o600, "\(file)")
        }
        withExtendedLifetime(store) {}
    }

    @Test func anExistingWorldReadableStateIsMadeOwnerOnlyAtOpen() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let previous = umask(0o022)
        defer { umask(previous) }
        // What an older Vigie left: 0644 files, the log not yet checkpointed.
        let old = try SQLiteStateStore(path: path)
        try writeSomething(old)
        for file in [path, path + "-wal", path + "-shm"] { chmod(file, 0o644) }

        let reopened = try SQLiteStateStore(path: path)
        try writeSomething(reopened)
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(try mode(file) == 0o600, "\(file)")
        }
        withExtendedLifetime((old, reopened)) {}
    }
}
