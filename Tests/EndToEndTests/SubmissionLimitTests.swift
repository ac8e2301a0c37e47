// End to end: authenticated submission through a real private Postfix with the real
// vigie daemon attached over its unix socket.

import Foundation
import Testing
import VigieTestKit

@Suite("Limits on authenticated submission (real Postfix)", .serialized)
struct SubmissionLimitTests {
    @Test("a member over a limit reads a 450 4.7.1 multi-line notice, French first")
    func overLimitNotice() throws {
        let vigie = try VigieUnderTest()
        var queueIDs: [String] = []
        for number in 1...3 {
            let result = try vigie.submit(as: "Alice", subject: "message \(number)")
            #expect(result.accepted, "message \(number) should pass: \(result)")
            if let id = result.queueID { queueIDs.append(id) }
        }
        let refused = try vigie.submit(as: "alice@vigie.test", subject: "message 4")
        #expect(!refused.accepted)
        let reply = try #require(refused.rcptTo("friend@example.net"), "\(refused)")
        #expect(reply.code == 450)
        #expect(reply.enhancedCode == "4.7.1")
        #expect(reply.lines.count >= 4, "multi-line notice expected: \(reply)")
        let text = reply.text
        #expect(text.contains("alice"))
        #expect(text.contains("3"), "the limit is named: \(text)")
        #expect(text.contains("postmaster@vigie.test"), "whom to contact: \(text)")
        #expect(text.contains("minute"))
        #expect(text.contains("d’envoi"), "French accents and apostrophes reach the client intact: \(text)")
        // French first, then English.
        let french = try #require(text.range(of: "minute"))
        let english = try #require(text.range(of: "Sending limit", options: .caseInsensitive) ?? text.range(of: "limit"))
        #expect(french.lowerBound < english.lowerBound)
        // Refused mail was not counted, and the log tells the story.
        let show = try vigie.ctl("show", "alice", "--json")
        #expect(show.succeeded, "\(show)")
        #expect(show.stdout.contains("\"used\" : 3"), "\(show.stdout)")
        // One line per decision, Postfix style: queue id first (NOQUEUE before DATA),
        // then sorted key=value fields, quoted when they hold a space.
        let log = vigie.log()
        #expect(queueIDs.count == 3)
        for id in queueIDs {
            #expect(log.contains("]: \(id): accepted account=alice path=smtp recipients=1\n"), "\(log)")
        }
        // The refusal line is written when the transaction ends (here at QUIT).
        let refusal = "]: NOQUEUE: refused: over limit accepted_recipients=0 account=alice count=3"
            + " first_recipient=friend@example.net limit=messages/minute max=3 path=smtp refused_recipients=1\n"
        _ = try vigie.daemon?.waitForOutput(containing: refusal)
    }

    @Test("a message refused at many RCPTs writes one refusal line with counts, not one per recipient")
    func oneRefusalLinePerMessage() throws {
        let vigie = try VigieUnderTest()
        // 60 recipients over a cap of 5: 55 refused at RCPT, 5 accepted, one line.
        let recipients = (1...60).map { "r\($0)@example.net" }
        let result = try vigie.submit(as: "dave", to: recipients)
        #expect(result.accepted, "\(result)")
        #expect(result.acceptedRecipients.count == 5)
        let id = try #require(result.queueID)
        _ = try vigie.daemon?.waitForOutput(containing: "]: \(id): refused: over limit accepted_recipients=5 account=dave"
            + " count=6 first_recipient=r6@example.net limit=recipients/message max=5 path=smtp refused_recipients=55\n")
        // Over the per-minute limit, every one of 40 recipients refused: one NOQUEUE line.
        for _ in 1...2 { #expect(try vigie.submit(as: "dave").accepted) }
        let refused = try vigie.submit(as: "dave", to: Array(recipients.prefix(40)))
        #expect(!refused.accepted, "\(refused)")
        _ = try vigie.daemon?.waitForOutput(containing: "refused_recipients=40\n")
        // Let a late duplicate show up if there were one.
        Thread.sleep(forTimeInterval: 0.3)
        let lines = vigie.log().split(separator: "\n").filter { $0.contains(": refused: ") }
        #expect(lines.count == 2, "\(lines.joined(separator: "\n"))")
        #expect(lines.last?.contains("NOQUEUE: refused: over limit accepted_recipients=0 account=dave") == true,
                "\(lines.joined(separator: "\n"))")
        // The metric still counts messages, not recipients.
        let metrics = try vigie.scrapeMetrics()
        #expect(vigie.metric("vigie_messages_total{verdict=\"over_limit\"}", in: metrics) == 2, "\(metrics)")
    }

    @Test("too many recipients in one message: 452 4.5.3 on the extra ones, the rest goes through")
    func recipientsPerMessageCap() throws {
        let vigie = try VigieUnderTest()
        let recipients = (1...7).map { "r\($0)@example.net" }
        let result = try vigie.submit(as: "bob", to: recipients)
        #expect(result.accepted, "\(result)")
        #expect(result.acceptedRecipients.count == 5)
        let sixth = try #require(result.rcptTo("r6@example.net"))
        #expect(sixth.code == 452)
        #expect(sixth.enhancedCode == "4.5.3")
    }

    @Test("postmaster stays reachable over a limit, and inbound mail is never counted")
    func exemptionsAndInbound() throws {
        let vigie = try VigieUnderTest()
        for _ in 1...3 { #expect(try vigie.submit(as: "carol").accepted) }
        #expect(!(try vigie.submit(as: "carol").accepted))
        #expect(try vigie.submit(as: "carol", to: ["postmaster@vigie.test"]).accepted)
        // Unauthenticated mail from the internet to a member: not a member sending.
        for number in 1...5 {
            let inbound = try vigie.postfix.sendSMTP(from: "carol@example.net", to: ["alice@vigie.test"],
                                                     subject: "inbound \(number)")
            #expect(inbound.accepted, "\(inbound)")
        }
    }
}
