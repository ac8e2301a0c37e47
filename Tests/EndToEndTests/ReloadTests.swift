// End to end: `vigiectl reload` puts a new configuration in force without a restart,
// and refuses a broken one while the running configuration stays.

import Foundation
import Testing
import VigieTestKit

@Suite("Reload without restart (real daemon and Postfix)", .serialized)
struct ReloadTests {
    @Test("a raised limit takes effect at once; a broken file is refused and the old limits stay")
    func reload() throws {
        let vigie = try VigieUnderTest()
        for _ in 1...3 { #expect(try vigie.submit(as: "alice").accepted) }
        #expect(try vigie.submit(as: "alice").rcptTo("friend@example.net")?.code == 450)

        // Raise the per-minute limit in conf.d, as an admin would, and reload.
        let confD = vigie.directory + "/conf.d"
        try FileManager.default.createDirectory(atPath: confD, withIntermediateDirectories: true)
        try "[limits.messages]\nper_minute = 10\n".write(toFile: confD + "/50-local.toml", atomically: true, encoding: .utf8)
        let reload = try vigie.ctl("reload")
        #expect(reload.succeeded, "\(reload)")
        #expect(reload.stdout.contains("50-local.toml"), "\(reload.stdout)")
        #expect(try vigie.submit(as: "alice").accepted, "the new limit is in force without a restart")

        // A broken file: refused with file, line and key; the running limits stay.
        try "[limits.messages]\nper_minute = \"lots\"\n".write(toFile: confD + "/60-broken.toml", atomically: true, encoding: .utf8)
        let refused = try vigie.ctl("reload")
        #expect(!refused.succeeded)
        #expect(refused.stderr.contains("60-broken.toml:2"), "\(refused)")
        #expect(refused.stderr.contains("limits.messages.per_minute"), "\(refused)")
        #expect(try vigie.submit(as: "alice").accepted, "still the reloaded limit of 10")
        #expect(vigie.daemon?.isRunning == true)
        #expect(vigie.log().contains("reload refused"))
    }
}
