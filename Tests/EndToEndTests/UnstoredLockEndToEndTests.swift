// End to end: a burst lock taken while the state store cannot be written (another
// process holds the file past the busy timeout) tempfails its tripping message, is
// enforced, reported by vigiectl status, written once the store works, and there
// after a restart.

import Foundation
import Testing
import VigieTestKit

@Suite("A lock the store could not write (real daemon and Postfix)", .serialized)
struct UnstoredLockEndToEndTests {
    /// An sqlite3 shell holding a write transaction on the state file: every write
    /// of the daemon fails with "database is locked" after its busy timeout, as it
    /// would on a full disk.
    final class WriteBlocker {
        let process = Process()
        let input = Pipe()
        let output = Pipe()

        init(path: String) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            process.arguments = [path]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            input.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\nSELECT 'held';\n".utf8))
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("held") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { throw HarnessError("sqlite3 exited before taking the write lock") }
                seen += chunk
            }
        }

        func release() {
            input.fileHandleForWriting.write(Data("ROLLBACK;\n.quit\n".utf8))
            process.waitUntilExit()
        }
    }

    @Test("locked while the store fails, shown in status, stored once it works, kept across a restart")
    func unstoredLockIsRetried() throws {
        // The busy wait of the lock's write is bounded by decision_timeout.
        let vigie = try VigieUnderTest(notify: false, extraDaemonConfig: "decision_timeout = \"1s\"")
        let blocker = try WriteBlocker(path: vigie.statePath)
        for _ in 1...3 { #expect(try vigie.submit(as: "mallory").accepted) }
        for _ in 1...2 { #expect(try vigie.submit(as: "mallory").accepted == false) }
        let tripping = try vigie.submit(as: "mallory", subject: "trips the lock")
        // Not held as evidence: a held message whose lock a restart forgets would be
        // the only trace, so it stays with the client.
        #expect(!tripping.accepted, "\(tripping)")
        #expect(tripping.recipients.first?.response.code == 451, "tempfailed while the lock is on no disk: \(tripping)")
        #expect(try vigie.submit(as: "mallory").recipients.first?.response.code == 550, "enforced in memory")
        #expect(vigie.log().contains("lock.id=unstored"))
        #expect(vigie.log().contains("longer than the 1000 ms busy timeout"), "decision_timeout is the busy timeout")
        // Every decision, the one that waited on the state file included, within 2 s.
        let metrics = try vigie.scrapeMetrics()
        let decisions = try #require(vigie.metric("vigie_decision_seconds_count", in: metrics))
        #expect(vigie.metric("vigie_decision_seconds_bucket{le=\"2.0\"}", in: metrics) == decisions, "\(metrics)")
        #expect(vigie.metric("vigie_decision_seconds_bucket{le=\"0.25\"}", in: metrics).map { $0 < decisions } == true,
                "the write did wait for the busy timeout")

        let failing = try vigie.ctl("status")
        #expect(failing.succeeded, "\(failing)")
        #expect(failing.stdout.contains("state store:       FAILING"), "\(failing.stdout)")
        #expect(failing.stdout.contains("locks not stored:  1"), "\(failing.stdout)")

        blocker.release()
        try Wait.until("the flusher writes the lock", timeout: 30) {
            let status = try vigie.ctl("status")
            return status.succeeded && !status.stdout.contains("locks not stored") && !status.stdout.contains("FAILING")
        }

        #expect(vigie.stopDaemon() == 0)
        #expect(!vigie.log().contains("lock not stored"))
        try vigie.startDaemon()
        #expect(try vigie.submit(as: "mallory").recipients.first?.response.code == 550, "locked after the restart")
        let show = try vigie.ctl("show", "mallory", "--json")
        #expect(show.stdout.contains("\"action\" : \"lock\""), "\(show.stdout)")
    }
}
