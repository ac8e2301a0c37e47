// End to end: the burst lock, the hold queue, the evidence, the notification, and
// vigiectl unlocking the account, through a real private Postfix.

import Foundation
import Testing
import VigieTestKit

@Suite("Burst lock (real Postfix)", .serialized)
struct BurstLockTests {
    @Test("a script that keeps going is locked: tripping message held, later mail 550, unlock lets mail flow")
    func burstLockAndUnlock() throws {
        let vigie = try VigieUnderTest()
        var accepted: [String] = []
        var trippedQueueID: String?
        // Like a script with a stolen password: keep sending whatever the answer.
        for number in 1...10 {
            let result = try vigie.submit(as: "mallory", subject: "spam \(number)")
            if result.accepted {
                if accepted.count < 3 { accepted.append(try #require(result.queueID)) } else { trippedQueueID = result.queueID; break }
            }
        }
        #expect(accepted.count == 3, "three messages fit the per-minute limit")
        let held = try #require(trippedQueueID, "the third refusal in a row trips the lock; that message is taken in to be held")
        try vigie.postfix.waitForQueue(timeout: 10) { queue in queue.contains { $0.queueID == held && $0.isHeld } }

        // Every later message from the account is refused at RCPT with the lock notice
        // (Vigie negotiates MAIL away: one round trip less per message), so no body
        // is taken.
        let after = try vigie.submit(as: "mallory", subject: "after the lock")
        let refusal = try #require(after.recipients.first?.response)
        #expect(refusal.code == 550, "\(after)")
        #expect(refusal.enhancedCode == "5.7.1")
        #expect(refusal.text.contains("postmaster@vigie.test"))
        #expect(!after.accepted)

        // The admin gets a notification mail, and so does the member.
        let notice = try vigie.postfix.waitForMail(to: "admin@vigie.test", containing: "mallory", timeout: 20)
        #expect(notice.contains("vigiectl unlock mallory"))
        try vigie.postfix.waitForMail(to: "mallory@vigie.test", containing: "verrouill", timeout: 20)

        // vigiectl sees the lock with its evidence.
        let list = try vigie.ctl("list")
        #expect(list.succeeded && list.stdout.contains("mallory"), "\(list)")
        let show = try vigie.ctl("show", "mallory")
        #expect(show.stdout.contains("LOCKED"))
        for queueID in accepted + [held] { #expect(show.stdout.contains(queueID), "evidence \(queueID) in \(show.stdout)") }

        // hold puts the accepted burst on hold too; release gives it back.
        let hold = try vigie.ctl("hold", "mallory")
        #expect(hold.succeeded, "\(hold)")
        try vigie.postfix.waitForQueue(timeout: 10) { queue in
            accepted.allSatisfy { id in queue.contains { $0.queueID == id && $0.isHeld } }
        }

        let unlock = try vigie.ctl("unlock", "mallory", "--reason", "password changed")
        #expect(unlock.succeeded, "\(unlock)")
        let again = try vigie.submit(as: "mallory", subject: "legit again")
        #expect(again.accepted, "\(again)")

        let history = try vigie.ctl("show", "mallory", "--json")
        #expect(history.stdout.contains("\"action\" : \"lock\""))
        #expect(history.stdout.contains("\"action\" : \"unlock\""))
        #expect(history.stdout.contains("password changed"))
        #expect(history.stdout.contains("\"action\" : \"hold\""))
    }

    @Test("the lock survives a restart and a kill -9; counters survive a kill -9")
    func stateSurvivesRestarts() throws {
        let vigie = try VigieUnderTest()
        #expect(try vigie.submit(as: "dave").accepted, "Vigie learns of dave (no Unix user here)")
        let lock = try vigie.ctl("lock", "dave", "--reason", "password leaked")
        #expect(lock.succeeded, "\(lock)")
        #expect(try vigie.submit(as: "dave").recipients.first?.response.code == 550)

        #expect(vigie.stopDaemon() == 0, "SIGTERM stops vigie cleanly")
        try vigie.startDaemon()
        #expect(try vigie.submit(as: "dave").recipients.first?.response.code == 550, "locked after a restart")

        // Counters: three messages (the per-minute limit), then kill -9 once the file
        // holds all three (polled, not slept on: a loaded machine may take longer than
        // the flush's second).
        for _ in 1...3 { #expect(try vigie.submit(as: "erin").accepted) }
        #expect(try waitForStoredMessages(3, of: "erin", in: vigie.statePath), "erin's three messages not flushed within 20 s")
        vigie.killDaemon()
        try vigie.startDaemon()
        #expect(try vigie.submit(as: "dave").recipients.first?.response.code == 550, "locked after kill -9")
        let fourth = try vigie.submit(as: "erin")
        #expect(fourth.rcptTo("friend@example.net")?.code == 450, "restarting is no way around a limit: \(fourth)")
    }

    /// Polls the state file (read-only, beside the running daemon: WAL) until the
    /// account's stored counters hold `count` messages today: messagesPerDay's previous
    /// and current counts in the snapshot (AccountCounters+Snapshot.swift: bytes 41-48,
    /// little-endian; both, in case the day turned between two of the messages).
    private func waitForStoredMessages(_ count: Int, of account: String, in statePath: String) throws -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let result = try ProcessRunner.run("/usr/bin/sqlite3", ["-readonly", statePath,
                "SELECT hex(snapshot) FROM counters WHERE account = '\(account)'"])
            let hex = Array(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            if hex.count == 141 * 2 {
                let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16) ?? 0 }
                func uint32(at offset: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) } }
                if uint32(at: 41) + uint32(at: 45) >= count { return true }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }
}
