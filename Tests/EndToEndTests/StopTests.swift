// End to end: SIGTERM stops the daemon quickly, and a new one starts at once on the
// same sockets and metrics port (what `systemctl restart vigie` does).

import Foundation
import Testing
import VigieTestKit

@Suite("Stopping and restarting (real daemon)", .serialized)
struct StopTests {
    @Test("an idle daemon exits soon after SIGTERM, and a restart right after gets the metrics port")
    func quickStopAndImmediateRestart() throws {
        let vigie = try VigieUnderTest(startPostfix: false)
        // A scrape first, so the metrics listener has served a connection.
        #expect(try vigie.scrapeMetrics().hasPrefix("HTTP/1.0 200 OK"))

        for round in 1...3 {
            let daemon = try #require(vigie.daemon)
            let sent = ContinuousClock.now
            daemon.terminate()
            let status = daemon.waitForExit(timeout: 10)
            let took = ContinuousClock.now - sent
            #expect(status == 0, "round \(round): exit status \(String(describing: status))")
            // Idle, it should take well under half a second; the bound is generous
            // for a loaded machine, and far below the 2-6 s it used to take.
            #expect(took < .milliseconds(1500), "round \(round): SIGTERM to exit took \(took)")
            #expect(vigie.log().contains("stopped"))

            // At once: no sleep between the exit and the new start.
            try vigie.startDaemon()
            #expect(try vigie.scrapeMetrics().hasPrefix("HTTP/1.0 200 OK"), "round \(round)")
        }
        #expect(!vigie.log().contains("Address already in use"), "\(vigie.log())")
    }
}
