// End to end: the suspicion score through a real private Postfix. A member's login
// used from a new network to write to strangers, slowly (far under every limit),
// is watched, then locked; the tripping message is held; the admin mail gives the
// reasons; vigiectl explains; trust plus unlock lets the member send again.

import Foundation
import Testing
import VigieTestKit

@Suite("Detection (real Postfix)", .serialized)
struct DetectionTests {
    /// Limits no test message comes near, no burst rule: only the score can lock.
    /// No learning period, so a history made in the test counts in full; thresholds
    /// small so three messages tell.
    static let config = """
    [limits]
    recipients_per_message = 50
    [limits.messages]
    per_minute = 100
    per_hour = 1000
    per_day = 1000
    [burst]
    messages = 0
    recipients = 0
    refusals_in_a_row = 0
    [detection]
    watch = 15
    lock = 25
    learning_period = "0s"
    established_after = "0s"
    """

    /// XCLIENT ADDR moves the session to these documentation networks (nothing is
    /// sent to them); the private instance has no SASL, so, as for the other tests'
    /// XCLIENT LOGIN sessions, mynetworks is what lets them relay.
    static let postfix = ["mynetworks": "127.0.0.0/8 198.51.100.0/24 203.0.113.0/24"]

    /// Sleeps past the next turn of the hour when it is less than `seconds` away.
    static func waitUntilClearOfTheHour(seconds: Double) {
        let now = Date().timeIntervalSince1970
        let left = 3600 - now.truncatingRemainder(dividingBy: 3600)
        if left < seconds { Thread.sleep(forTimeInterval: left + 1) }
    }

    func send(_ vigie: VigieUnderTest, from address: String, to recipient: String, subject: String) throws -> SMTPSendResult {
        try vigie.postfix.sendSMTP(from: "camille@vigie.test", to: [recipient], subject: subject, login: "camille",
                                   xclient: ["ADDR": address])
    }

    @Test("a login from a new network writing to strangers is watched, then locked; trust and unlock end it")
    func newNetworkToStrangers() throws {
        // The score counts an hour the account never sent at: a test straddling the
        // turn of an hour would see its last messages scored for it (watched twice;
        // seen once in CI at 08:00). Start clear of it.
        Self.waitUntilClearOfTheHour(seconds: 30)
        let vigie = try VigieUnderTest(extraConfig: Self.config, extraMainCF: Self.postfix)
        // camille's home: Vigie learns of her, an admin records her home network.
        #expect(try send(vigie, from: "198.51.100.7", to: "ana@example.org", subject: "hello Ana").accepted)
        let home = try vigie.ctl("trust", "camille", "198.51.100.0/24", "--reason", "home")
        #expect(home.succeeded, "\(home)")
        for friend in ["ana@example.org", "bea@example.net"] {
            #expect(try send(vigie, from: "198.51.100.23", to: friend, subject: "news").accepted)
        }
        let calm = try vigie.ctl("show", "camille", "--json")
        #expect(calm.stdout.contains("\"network\" : \"198.51.100.0\\/24\"") || calm.stdout.contains("\"network\" : \"198.51.100.0/24\""), "\(calm.stdout)")

        // The password leaks: one message at a time, from elsewhere, to strangers.
        var accepted: [String] = []
        var held: String?
        for number in 1...6 {
            let result = try send(vigie, from: "203.0.113.\(40 + number)", to: "target\(number)@example.com",
                                  subject: "offer \(number)")
            guard result.accepted, let id = result.queueID else { break }
            if try vigie.ctl("show", "camille").stdout.contains("LOCKED") { held = id; break }
            accepted.append(id)
        }
        let tripped = try #require(held, "locked within six messages: \(accepted)")
        // Home: 8 points for the first message (before the trust, her home was a new
        // network), 1.5 for a new friend. Then 8, 6 and 6 from the new network: over
        // the watch (15) with the first, over the lock (25) with the third.
        let explained = try vigie.ctl("explain", "camille").stdout
        #expect(accepted.count == 2, "\(accepted) \(explained)")
        try vigie.postfix.waitForQueue(timeout: 10) { queue in queue.contains { $0.queueID == tripped && $0.isHeld } }

        // Everything after is refused at RCPT, whatever the network.
        let after = try send(vigie, from: "198.51.100.7", to: "ana@example.org", subject: "after")
        #expect(after.recipients.first?.response.code == 550, "\(after)")

        // The admin was told twice: the watch, then the lock with its reasons.
        let watch = try vigie.postfix.waitForMail(to: "admin@vigie.test", containing: "sous surveillance", timeout: 20)
        #expect(watch.contains("new network 203.0.113.0/24"), "\(watch)")
        let lockMail = try vigie.postfix.waitForMail(to: "admin@vigie.test", containing: "verrouill", timeout: 20)
        #expect(lockMail.contains("suspicion score"), "\(lockMail)")
        #expect(lockMail.contains("new network 203.0.113.0/24"), "\(lockMail)")
        #expect(lockMail.contains("1 of 1 recipients unknown"), "\(lockMail)")

        // vigiectl explains, and keeps the evidence of what moved the score.
        let explain = try vigie.ctl("explain", "camille")
        #expect(explain.succeeded, "\(explain)")
        #expect(explain.stdout.contains("new network 203.0.113.0/24"), "\(explain.stdout)")
        for id in accepted { #expect(explain.stdout.contains(id), "\(id) in \(explain.stdout)") }
        let show = try vigie.ctl("show", "camille")
        #expect(show.stdout.contains("Suspicion: score"), "\(show.stdout)")
        for id in accepted + [tripped] { #expect(show.stdout.contains(id), "evidence \(id) in \(show.stdout)") }

        // It was the member after all (a new office): trust the network, unlock.
        let trust = try vigie.ctl("trust", "camille", "203.0.113.0/24", "--reason", "new office")
        #expect(trust.succeeded, "\(trust)")
        let unlock = try vigie.ctl("unlock", "camille", "--reason", "it was her, new office")
        #expect(unlock.succeeded, "\(unlock)")
        for number in 1...3 {
            let again = try send(vigie, from: "203.0.113.80", to: "client\(number)@example.com", subject: "from the office")
            #expect(again.accepted, "\(again)")
        }
        #expect(try vigie.ctl("show", "camille").stdout.contains("active"))
        let trail = try vigie.ctl("show", "camille", "--json").stdout
        #expect(trail.contains("\"action\" : \"trust\""), "\(trail)")

        let metrics = try vigie.scrapeMetrics()
        #expect(vigie.metric("vigie_locks_total{by=\"detection\"}", in: metrics) == 1)
        #expect(vigie.metric("vigie_detection_watches_total", in: metrics) == 1)
    }

    @Test("vigiectl trust refuses what is not a network, and an unknown account")
    func trustRefusesBadInput() throws {
        let vigie = try VigieUnderTest(extraConfig: Self.config, extraMainCF: Self.postfix)
        let first = try send(vigie, from: "198.51.100.7", to: "ana@example.org", subject: "hello")
        #expect(first.accepted, "\(first)")
        for bad in ["198.51.100.0/16", "not-a-network", "127.0.0.1", "198.51.100.0/24/8"] {
            let result = try vigie.ctl("trust", "camille", bad, "--reason", "x")
            #expect(!result.succeeded && result.stderr.contains("expected a network"), "\(bad): \(result)")
        }
        let unknown = try vigie.ctl("trust", "nobody-at-all", "198.51.100.0/24", "--reason", "x")
        #expect(!unknown.succeeded && unknown.stderr.contains("unknown account"), "\(unknown)")
    }
}
