// End to end: vigiectl's refusals and errors, and the daemon's refusal of bad configs.

import Foundation
import Testing
import VigieTestKit

@Suite("vigiectl and configuration errors (real daemon)", .serialized)
struct AdminCommandTests {
    @Test("clear one-line errors and non-zero exits")
    func errors() throws {
        let vigie = try VigieUnderTest(startPostfix: false)
        let unknown = try vigie.ctl("show", "nosuchmember")
        #expect(!unknown.succeeded)
        #expect(unknown.stderr.contains("unknown account"), "\(unknown)")
        #expect(unknown.stderr.split(separator: "\n").count == 1)

        let noReason = try vigie.ctl("lock", "root")
        #expect(!noReason.succeeded)
        #expect(noReason.stderr.contains("--reason"), "\(noReason)")

        let notRunning = try ProcessRunner.run(Binaries.vigiectl, ["status", "--socket", vigie.directory + "/none.sock"])
        #expect(notRunning.status == 1)
        #expect(notRunning.stderr.contains("not running"), "\(notRunning)")

        let status = try vigie.ctl("status")
        #expect(status.succeeded && status.stdout.contains("running"), "\(status)")
    }

    @Test("anyone but root and the admin group is refused")
    func permission() throws {
        let vigie = try VigieUnderTest(startPostfix: false)
        let refused = try vigie.ctl("status", asUser: "nobody")
        #expect(!refused.succeeded)
        #expect(refused.stderr.contains("permission denied") || refused.stderr.contains("cannot read"), "\(refused)")
        let refusedWithSocket = try ProcessRunner.run(
            "/usr/sbin/runuser", ["-u", "nobody", "--", try vigie.vigiectlForAnyone(), "status", "--socket", vigie.controlSocket])
        #expect(refusedWithSocket.status == 1)
        #expect(refusedWithSocket.stderr.contains("permission denied"), "\(refusedWithSocket)")
    }

    @Test("group overrides come from NSS: vigiectl show explains where each limit comes from")
    func groupOverrideThroughNSS() throws {
        // `daemon` is a Unix user on every Debian system, in group `daemon`: the real
        // NSS lookup (no fake) must find it and apply the group's override.
        let vigie = try VigieUnderTest(extraConfig: smallLimits + "\n[groups.daemon.messages]\nper_hour = 77\n",
                                       startPostfix: false)
        let show = try vigie.ctl("show", "daemon")
        #expect(show.succeeded, "\(show)")
        let line = try #require(show.stdout.split(separator: "\n").first { $0.hasPrefix("messages per hour") })
        #expect(line.contains("77") && line.contains("group daemon"), "\(line)")
        #expect(show.stdout.contains("Groups:   daemon"), "\(show.stdout)")
    }

    @Test("a bad configuration refuses to start, naming file, line and key")
    func badConfiguration() throws {
        let directory = try TestDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/vigie.toml"
        try "[daemon]\nuser = \"vigie\"\n\n[limits.messages]\nper_hour = -5\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try ProcessRunner.run(Binaries.vigie, ["--check-config", "--config", path])
        #expect(result.status == 78, "\(result)")
        #expect(result.stderr.contains("\(path):5"), "\(result)")
        #expect(result.stderr.contains("limits.messages.per_hour"), "\(result)")
    }

    @Test("backend = \"redis\" checks; a Redis that does not answer fails the start naming the server")
    func redisBackendChecksAndNeedsItsServer() throws {
        let directory = try TestDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/vigie.toml"
        try """
            [daemon]
            user = "root"
            socket = "unix:\(directory)/milter.sock"
            state_path = "\(directory)/state.sqlite"
            control_socket = "\(directory)/control.sock"
            admin_group = "root"
            [notices]
            directory = "\(Binaries.packageRoot)/conf/notices"
            [metrics]
            listen = ""
            [store]
            backend = "redis"
            redis_url = "unix:\(directory)/no-redis.sock"

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let check = try ProcessRunner.run(Binaries.vigie, ["--check-config", "--config", path])
        #expect(check.status == 0, "\(check)")
        // Nothing listens there: the start fails (it cannot know the locks in force) and says where it looked.
        let start = try ProcessRunner.run(Binaries.vigie, ["--config", path, "--stderr"], timeout: 20)
        #expect(start.status != 0, "\(start)")
        #expect(start.stderr.contains("\(directory)/no-redis.sock"), "\(start)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/state.sqlite"), "no SQLite file on the Redis backend")
    }
}
