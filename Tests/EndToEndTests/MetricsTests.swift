// End to end: the Prometheus endpoint's counters match the traffic that went
// through a real Postfix.

import Foundation
import Testing
import VigieTestKit

@Suite("Metrics endpoint (real daemon and Postfix)", .serialized)
struct MetricsTests {
    @Test("counters match what happened: accepted, over limit, quarantined, locked, inbound")
    func countersMatchTraffic() throws {
        let vigie = try VigieUnderTest(notify: false)
        for _ in 1...3 { #expect(try vigie.submit(as: "mallory").accepted) }          // 3 accepted
        for _ in 1...2 { #expect(try vigie.submit(as: "mallory").accepted == false) } // 2 over the limit
        #expect(try vigie.submit(as: "mallory").accepted)                               // third refusal in a row: held
        #expect(try vigie.submit(as: "mallory").recipients.first?.response.code == 550)                  // locked
        for _ in 1...2 {                                                                // inbound, not judged
            #expect(try vigie.postfix.sendSMTP(from: "x@example.net", to: ["alice@vigie.test"]).accepted)
        }
        let text = try vigie.scrapeMetrics()
        #expect(text.hasPrefix("HTTP/1.0 200 OK"))
        #expect(vigie.metric("vigie_messages_total{verdict=\"accepted\"}", in: text) == 3, "\(text)")
        #expect(vigie.metric("vigie_messages_total{verdict=\"over_limit\"}", in: text) == 2)
        #expect(vigie.metric("vigie_messages_total{verdict=\"quarantined\"}", in: text) == 1)
        #expect(vigie.metric("vigie_messages_total{verdict=\"locked\"}", in: text) == 1)
        #expect(vigie.metric("vigie_messages_total{verdict=\"external\"}", in: text) == 2)
        #expect(vigie.metric("vigie_refusals_total{limit=\"messages_per_minute\"}", in: text) == 2)
        #expect(vigie.metric("vigie_locks_total{by=\"burst\"}", in: text) == 1)
        #expect(vigie.metric("vigie_quarantined_total", in: text) == 1)
        #expect(vigie.metric("vigie_locked_accounts", in: text) == 1)
        #expect((vigie.metric("vigie_milter_sessions_total", in: text) ?? 0) >= 9)
        #expect((vigie.metric("vigie_decision_seconds_count", in: text) ?? 0) >= 9)
        // Bounded labels: no account name anywhere in the exposition.
        #expect(!text.contains("mallory"))

        let unlock = try vigie.ctl("unlock", "mallory", "--reason", "password changed")
        #expect(unlock.succeeded)
        let after = try vigie.scrapeMetrics()
        #expect(vigie.metric("vigie_unlocks_total", in: after) == 1)
        #expect(vigie.metric("vigie_locked_accounts", in: after) == 0)
    }
}
