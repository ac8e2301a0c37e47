// End to end: local sendmail(1) submission (pickup → cleanup → non_smtpd_milters).

import Foundation
import Testing
import VigieTestKit

@Suite("Limits on local sendmail submission (real Postfix)", .serialized)
struct LocalSubmissionTests {
    @Test("over the limit, sendmail mail bounces with the notice on one line")
    func bounceCarriesNotice() throws {
        let vigie = try VigieUnderTest()
        for number in 1...4 {
            try vigie.postfix.sendmail(from: "carol@vigie.test", to: ["friend@example.net"],
                                       body: "Subject: local \(number)\n\nHello \(number).\n")
        }
        let bounce = try vigie.postfix.waitForMail(to: "carol@vigie.test", containing: "Diagnostic-Code", timeout: 30)
        #expect(bounce.contains("5.7.1"), "\(bounce)")
        #expect(bounce.contains("carol"))
        #expect(bounce.contains("postmaster@vigie.test"))
        #expect(vigie.log().contains("path=local"))
        // Exactly three went out; the fourth is the bounce's subject.
        let queued = try vigie.postfix.queue().filter { $0.recipientAddresses.contains("friend@example.net") }
        #expect(queued.count == 3, "\(queued)")
    }
}
