// End to end, issue 15 item 4: faults provoked on purpose while Postfix sends
// through Vigie (a crash mid-burst, a full disk at the moment of a lock, a damaged
// state file at start), and what each may cost: no lock, and no message accepted
// without a decision.

import Dispatch
import Foundation
import Synchronization
import Testing
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Limits no one reaches in these tests, and a burst rule that locks an account on
/// its 21st message in ten minutes.
let burstOnlyLimits = """
[limits.messages]
per_minute = 1000
per_hour = 10000
per_day = 10000
[limits.recipients]
per_minute = 1000
per_hour = 10000
per_day = 10000
[burst]
messages = 20
recipients = 1000
window = "10m"
refusals_in_a_row = 0
"""

/// A tmpfs of `size` mounted on a fresh directory: a file system a test can fill.
final class SmallFileSystem {
    let path: String

    init(size: String) throws {
        path = try TestDirectory.make(prefix: "vigie-tmpfs-")
        let mount = try ProcessRunner.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", path], timeout: 10)
        try #require(mount.succeeded, "mounting a tmpfs for the state directory: \(mount)")
    }

    /// Writes zeros into `filler` until the file system says it is full.
    func fill() throws {
        let result = try ProcessRunner.run("/bin/dd", ["if=/dev/zero", "of=\(path)/filler", "bs=4096"], timeout: 30)
        try #require(result.stderr.contains("No space left on device"), "\(result)")
    }

    func makeRoom() { unlink(path + "/filler") }

    deinit {
        _ = try? ProcessRunner.run("/bin/umount", ["-l", path], timeout: 10)
        rmdir(path)
    }
}

/// What one client of the burst saw.
struct BurstAttempt: Sendable {
    var account: String
    var result: SMTPSendResult?
    var failure: String?

    var rcptCode: Int? { result?.recipients.first?.response.code }
    /// A 4xx at MAIL FROM (the milter unreachable) or at RCPT TO.
    var isTemporaryFailure: Bool {
        guard let result, !result.accepted else { return false }
        let code = result.mailFrom?.code == 250 ? rcptCode : result.mailFrom?.code
        return code.map { (400..<500).contains($0) } ?? false
    }
    var wasRefusedAsLocked: Bool { rcptCode == 550 && result?.recipients.first?.response.enhancedCode == "5.7.1" }
}

/// The burst's clients append here from their threads.
final class SharedAttempts: Sendable {
    let list = Mutex<[BurstAttempt]>([])
}

extension VigieUnderTest {
    /// The smallest histogram bound that holds every decision the daemon timed
    /// since it started (`vigie_decision_seconds`), as Prometheus prints it.
    func longestDecisionBound() throws -> String {
        let text = try scrapeMetrics()
        let total = metric("vigie_decision_seconds_count", in: text) ?? 0
        for line in text.split(separator: "\n") where line.hasPrefix("vigie_decision_seconds_bucket{le=\"") {
            let bound = line.dropFirst("vigie_decision_seconds_bucket{le=\"".count).prefix { $0 != "\"" }
            if let count = Double(line.split(separator: " ").last ?? ""), count >= total { return "\(bound) s" }
        }
        return "unknown"
    }
}

@Suite("Faults under load, through a real Postfix", .serialized)
struct FaultsUnderLoadTests {
    @Test("kill -9 in a 16-session burst: Postfix tempfails while it is down, no lock lost, nothing accepted undecided")
    func killNineDuringABurst() throws {
        let vigie = try VigieUnderTest(extraConfig: burstOnlyLimits, notify: false)
        let port = vigie.postfix.smtpPort
        let sessions = 16, messagesPerSession = 30
        let attempts = SharedAttempts()
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            DispatchQueue.concurrentPerform(iterations: sessions) { session in
                // Two sessions per account, as a stolen password used from two bots.
                let account = "bot\(session / 2)"
                for number in 0..<messagesPerSession {
                    var attempt = BurstAttempt(account: account)
                    do {
                        attempt.result = try SMTPClient.send(
                            port: port, from: "\(account)@vigie.test", to: ["victim\(session)-\(number)@example.net"],
                            body: "burst \(session)-\(number)\n", login: account)
                    } catch {
                        attempt.failure = "\(error)"
                    }
                    attempts.list.withLock { $0.append(attempt) }
                    // A client told to try again later waits a little, as a real one does.
                    if attempt.isTemporaryFailure { usleep(100_000) }
                }
            }
            finished.signal()
        }

        // Kill it in the middle: some accounts locked already, the others on their way.
        try Wait.until("a first lock and 120 messages decided", timeout: 120) {
            vigie.log().contains("account locked") && attempts.list.withLock { $0.count } >= 120
        }
        let locksBeforeKill = Set(Self.lockedAccounts(in: vigie.log()))
        vigie.killDaemon()
        let whileDown = try vigie.submit(as: "witness")
        #expect(!whileDown.accepted, "nothing goes through while Vigie is down: \(whileDown)")
        let downCode = whileDown.mailFrom?.code == 250 ? whileDown.recipients.first?.response.code : whileDown.mailFrom?.code
        #expect(downCode.map { (400..<500).contains($0) } == true, "milter_default_action = tempfail answers: \(whileDown)")
        usleep(500_000)  // the burst's clients meet the same tempfail
        try vigie.startDaemon()
        #expect(finished.wait(timeout: .now() + 240) == .success, "the burst's clients finished")

        let all = attempts.list.withLock { $0 }
        let log = vigie.log()
        #expect(all.count == sessions * messagesPerSession)
        #expect(all.allSatisfy { $0.failure == nil }, "\(all.compactMap(\.failure).prefix(3))")
        // Every message Postfix took has Vigie's decision in the log, written before
        // the reply: accepted, or held as the evidence of a lock.
        let taken = all.compactMap { $0.result?.queueID }
        #expect(!taken.isEmpty)
        let undecided = taken.filter { !log.contains("]: \($0): accepted ") && !log.contains(": \($0): quarantined: ") }
        #expect(undecided.isEmpty, "accepted by Postfix with no decision from Vigie: \(undecided.map { vigie.postfix.logLines(containing: $0) })")
        let tempfailed = all.filter(\.isTemporaryFailure)
        print("faults: kill -9: \(taken.count) accepted, \(tempfailed.count) tempfailed while down, \(all.filter(\.wasRefusedAsLocked).count) refused as locked")

        // Every lock any client or log line saw is on disk and in force after the restart.
        let announced = locksBeforeKill.union(all.filter(\.wasRefusedAsLocked).map(\.account))
        #expect(!announced.isEmpty)
        for account in announced.sorted() {
            let again = try vigie.submit(as: account)
            #expect(again.recipients.first?.response.code == 550, "\(account) still locked after the restart: \(again)")
            let show = try vigie.ctl("show", account, "--json")
            #expect(show.stdout.contains("\"action\" : \"lock\""), "\(account): \(show.stdout)")
        }
        print("faults: kill -9: locks announced \(announced.count), in force after restart \(announced.count); longest decision after restart ≤ \(try vigie.longestDecisionBound())")
    }

    @Test("the state directory full at the moment of a lock: tempfailed, locked in memory, status says FAILING, stored once there is room")
    func fullDiskAtTheMomentOfALock() throws {
        let disk = try SmallFileSystem(size: "1m")
        let vigie = try VigieUnderTest(notify: false, stateDirectory: disk.path)
        for _ in 1...3 { #expect(try vigie.submit(as: "mallory").accepted) }
        try disk.fill()
        for _ in 1...2 { #expect(try vigie.submit(as: "mallory").accepted == false) }  // over the minute's limit

        let tripping = try vigie.submit(as: "mallory", subject: "trips the lock")
        #expect(!tripping.accepted, "never accepted while its lock is on no disk: \(tripping)")
        #expect(tripping.recipients.first?.response.code == 451, "\(tripping)")
        #expect(tripping.recipients.first?.response.enhancedCode == "4.3.0", "\(tripping)")
        #expect(vigie.log().contains("refused for now: locked in memory, the store could not write the lock"))
        #expect(vigie.log().contains("is full"), "the store's error names the cause")
        #expect(try vigie.submit(as: "mallory").recipients.first?.response.code == 550, "enforced in memory")
        #expect(try vigie.submit(as: "camille").accepted, "other members still send while the disk is full")

        let failing = try vigie.ctl("status")
        #expect(failing.stdout.contains("state store:       FAILING"), "\(failing.stdout)")
        #expect(failing.stdout.contains("locks not stored:  1"), "\(failing.stdout)")
        print("faults: full disk: longest decision ≤ \(try vigie.longestDecisionBound())")

        disk.makeRoom()
        try Wait.until("the flusher writes the lock", timeout: 30) {
            let status = try vigie.ctl("status")
            return status.succeeded && !status.stdout.contains("locks not stored") && !status.stdout.contains("FAILING")
        }
        #expect(vigie.stopDaemon() == 0)
        try vigie.startDaemon()
        #expect(try vigie.submit(as: "mallory").recipients.first?.response.code == 550, "locked after the restart")
    }

    @Test("the local path: the message whose lock a full disk refused stays in maildrop; pickup's retry is refused as locked")
    func fullDiskOnTheLocalPath() throws {
        let disk = try SmallFileSystem(size: "1m")
        let vigie = try VigieUnderTest(notify: false, stateDirectory: disk.path)
        func send(_ number: Int) throws {
            try vigie.postfix.sendmail(from: "carol@vigie.test", to: ["friend@example.net"],
                                       body: "Subject: local \(number)\n\nHello \(number).\n")
        }
        func delivered() throws -> Int {
            try vigie.postfix.queue().filter { $0.recipientAddresses.contains("friend@example.net") }.count
        }
        for number in 1...3 { try send(number) }
        try Wait.until("three local messages queued", timeout: 30) { try delivered() == 3 }
        try disk.fill()
        for number in 4...5 { try send(number) }  // over the minute's limit: bounced
        try Wait.until("two refusals", timeout: 30) {
            vigie.log().components(separatedBy: "refused: over limit").count - 1 == 2
        }
        try send(6)  // the third refusal in a row trips the lock, which the disk refuses
        _ = try vigie.daemon?.waitForOutput(containing: "refused for now: locked in memory, the store could not write the lock", timeout: 30)
        #expect(vigie.log().contains("path=local reason="), "\(vigie.log())")

        disk.makeRoom()
        try Wait.until("the flusher writes the lock", timeout: 30) {
            let status = try vigie.ctl("status")
            return status.succeeded && !status.stdout.contains("locks not stored")
        }
        // pickup offers the tempfailed message again (at once, as the maillog shows): the
        // lock in memory refuses it, and it bounces like any locked sender's mail.
        try Wait.until("the retried message refused as locked", timeout: 90) {
            try? vigie.postfix.kickPickup()  // pickup may be busy with the last kick (SIGPIPE)
            return vigie.log().contains("refused: account locked") && vigie.log().contains("path=local")
        }
        #expect(try delivered() == 3, "nothing more left for friend@example.net")
    }

    @Test("a damaged state file at start: a refusal naming the file and what to do; Postfix tempfails meanwhile")
    func damagedStateFileAtStart() throws {
        let vigie = try VigieUnderTest(notify: false)
        #expect(try vigie.submit(as: "camille").accepted)
        let lock = try vigie.ctl("lock", "camille", "--reason", "password leaked")
        #expect(lock.succeeded, "\(lock)")
        #expect(vigie.stopDaemon() == 0)  // checkpointed: everything is in state.sqlite

        // Damage the audit trail's first page: nothing the daemon reads at start.
        let root = try ProcessRunner.run("/usr/bin/sqlite3", ["-readonly", vigie.statePath,
                                                              "SELECT rootpage FROM sqlite_master WHERE name = 'audit'"], timeout: 10)
        let page = try #require(Int(root.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(root)")
        let handle = try #require(FileHandle(forUpdatingAtPath: vigie.statePath))
        try handle.seek(toOffset: UInt64((page - 1) * 4096))
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 200))
        try handle.close()
        let damaged = try Data(contentsOf: URL(fileURLWithPath: vigie.statePath))

        let refused = try ProcessRunner.run(Binaries.vigie, ["--config", vigie.configPath], timeout: 30)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("cannot use \(vigie.statePath): the file fails SQLite's integrity check"), "\(refused.stderr)")
        #expect(refused.stderr.contains("move it aside (keep it: it holds the audit trail)"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: vigie.statePath)) == damaged, "the refused start changed nothing")

        let meanwhile = try vigie.submit(as: "camille")
        #expect(!meanwhile.accepted, "\(meanwhile)")
        let code = meanwhile.mailFrom?.code == 250 ? meanwhile.recipients.first?.response.code : meanwhile.mailFrom?.code
        #expect(code.map { (400..<500).contains($0) } == true, "Postfix tempfails while Vigie cannot start: \(meanwhile)")

        // What the refusal says to do works.
        #expect(rename(vigie.statePath, vigie.statePath + ".damaged") == 0)
        try vigie.startDaemon()
        #expect(try vigie.submit(as: "camille").accepted)
    }

    /// Accounts named by an "account locked" line.
    static func lockedAccounts(in log: String) -> [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("account locked"), let range = line.range(of: " account=") else { return nil }
            return String(line[range.upperBound...].prefix { $0 != " " })
        }
    }
}
