// End to end: an authenticated login the normaliser cannot use is refused, logged
// and counted, never accepted unjudged.

import Foundation
import Testing
import VigieTestKit

@Suite("Unusable logins fail closed (real daemon and Postfix)", .serialized)
struct UnusableLoginTests {
    @Test("an empty local part or a blank login gets 451 4.7.1, a NOQUEUE log line and a metric")
    func unusableLoginsAreTempfailed() throws {
        let vigie = try VigieUnderTest(notify: false)
        let logins = ["@camille", "  "]
        for login in logins {
            let result = try vigie.postfix.sendSMTP(from: "sender@vigie.test", to: ["friend@example.net"], login: login)
            #expect(result.xclient?.code == 220, "Postfix took the login \(login.prefix(20)): \(result)")
            let reply = try #require(result.recipients.first?.response, "\(result)")
            #expect(reply.code == 451, "\(result)")
            #expect(reply.enhancedCode == "4.7.1" && reply.text.contains("login"), "\(reply)")
            #expect(!result.accepted)
        }
        // Thirty recipients under such a login: thirty 451s, one log line.
        let many = try vigie.postfix.sendSMTP(from: "sender@vigie.test", to: (1...30).map { "r\($0)@example.net" },
                                              login: "@camille")
        #expect(many.recipients.count == 30 && many.recipients.allSatisfy { $0.response.code == 451 }, "\(many)")
        let lines = try Wait.forValue("three log lines", timeout: 10) { () -> [Substring]? in
            let found = vigie.log().split(separator: "\n").filter { $0.contains("refused: unusable login") }
            return found.count >= 3 ? found : nil
        }
        Thread.sleep(forTimeInterval: 0.3)
        let final = vigie.log().split(separator: "\n").filter { $0.contains("refused: unusable login") }
        #expect(final.count == 3, "one line per transaction, not per recipient: \(final)")
        #expect(lines.allSatisfy { $0.contains("NOQUEUE: refused: unusable login") }, "\(lines)")
        #expect(lines.contains { $0.contains("problem=no-local-part") && $0.contains("refused_recipients=1") }, "\(lines)")
        #expect(lines.contains { $0.contains("problem=empty") && $0.contains("bytes=2") }, "\(lines)")
        #expect(lines.contains { $0.contains("problem=no-local-part") && $0.contains("refused_recipients=30") }, "\(lines)")

        let text = try vigie.scrapeMetrics()
        // The metric still counts refused recipients, as documented.
        #expect(vigie.metric("vigie_unusable_logins_total", in: text) == 32, "\(text)")
        #expect(vigie.metric("vigie_messages_total{verdict=\"accepted\"}", in: text) == 0, "\(text)")
        #expect(!text.contains("camille"))
        // Postfix's XCLIENT refuses values over 255 bytes and turns control characters
        // into "?": those logins are covered by AccountNameTests.eachUnusableLoginSaysWhy
        // (a real SASL backend may pass them), through the same code path.
        // A usable login still goes through.
        #expect(try vigie.submit(as: "camille").accepted)
    }
}
