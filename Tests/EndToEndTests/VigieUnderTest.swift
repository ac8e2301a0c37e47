// A real `vigie` daemon attached to a real private Postfix, for end-to-end tests.

import Foundation
import VigieSockets
import Testing
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Where the built binaries are: `scripts/test` passes them in; a plain `swift test`
/// after `swift build` finds them in .build/debug.
enum Binaries {
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
    static var vigie: String {
        ProcessInfo.processInfo.environment["VIGIE_BIN"] ?? packageRoot + "/.build/debug/vigie"
    }
    static var vigiectl: String {
        ProcessInfo.processInfo.environment["VIGIECTL_BIN"] ?? packageRoot + "/.build/debug/vigiectl"
    }
}

/// Small limits so a test reaches them in a few messages. The burst rule trips on
/// the third refusal in a row, or on more than 8 messages in 10 minutes.
let smallLimits = """
[limits]
recipients_per_message = 5
[limits.messages]
per_minute = 3
per_hour = 100
per_day = 200
[limits.recipients]
per_minute = 20
per_hour = 100
per_day = 200
[burst]
messages = 8
recipients = 40
window = "10m"
refusals_in_a_row = 3
"""

/// A temp directory with vigie's sockets, state and config, a private Postfix using
/// it for both SMTP and local submission, and the daemon process. With a Dovecot, the
/// Postfix also has a submission smtpd on `submissionPort` that takes only real
/// SASL logins (AUTH PLAIN checked by that Dovecot); the XCLIENT smtpd stays.
final class VigieUnderTest {
    let directory: String
    let postfix: PostfixInstance
    let dovecot: DovecotInstance?
    /// The SASL submission smtpd's port on 127.0.0.1, when a Dovecot is attached.
    let submissionPort: Int?
    let configPath: String
    /// The loopback port of the daemon's Prometheus endpoint.
    let metricsPort: Int
    private(set) var daemon: LaunchedProcess?
    /// The state file: in `directory`, or in the `stateDirectory` given to init.
    let statePath: String
    var controlSocket: String { directory + "/control.sock" }

    init(extraConfig: String = smallLimits, startPostfix: Bool = true, notify: Bool = true,
         extraMainCF: [String: String] = [:], additionalServices: [String] = [], dovecot: DovecotInstance? = nil,
         stateDirectory: String? = nil, extraDaemonConfig: String = "") throws {
        try #require(geteuid() == 0, "end-to-end tests run a private Postfix and need root (use scripts/test)")
        directory = try TestDirectory.make(prefix: "vigie-e2e-")
        statePath = (stateDirectory ?? directory) + "/state.sqlite"
        let socket = "unix:\(directory)/milter/milter.sock"
        self.dovecot = dovecot
        var services = additionalServices
        if let dovecot {
            let port = try LoopbackPort.free()
            services.append(dovecot.postfixSubmissionService(port: port))
            submissionPort = port
            try dovecot.start()
        } else {
            submissionPort = nil
        }
        postfix = try PostfixInstance(
            milters: socket, nonSMTPMilters: socket,
            extraMainCF: ["milter_default_action": "tempfail"].merging(extraMainCF) { $1 },
            extraMasterCF: ["cleanup/unix/milter_macro_daemon_name": "local-submission"],
            additionalServices: services)
        configPath = directory + "/vigie.toml"
        metricsPort = try LoopbackPort.free()
        let config = """
        \(daemonSection(directory: directory, socket: socket, statePath: statePath))
        \(extraDaemonConfig)
        [notices]
        directory = "\(Binaries.packageRoot)/conf/notices"
        contact = "postmaster@vigie.test"
        time_zone = "UTC"
        [notify]
        enabled = \(notify)
        admin = "admin@vigie.test"
        member_domain = "vigie.test"
        from = "vigie@vigie.test"
        [postfix]
        config_directory = "\(postfix.configDirectory)"
        [logging]
        destination = "stderr"
        [metrics]
        listen = "127.0.0.1:\(metricsPort)"
        [exempt]
        accounts = ["root", "vigie"]
        recipients = ["postmaster", "abuse"]
        \(extraConfig)
        """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try startDaemon()
        if startPostfix { try postfix.start() }
    }

    private var launches = 0

    func startDaemon() throws {
        launches += 1
        // One log per launch, so "started" is this launch's line, not the last one's.
        let process = try LaunchedProcess(Binaries.vigie, ["--config", configPath],
                                          outputPath: directory + "/vigie.\(launches).log")
        daemon = process
        _ = try process.waitForOutput(containing: "started", timeout: 20)
    }

    /// SIGKILL: what a crash leaves on disk.
    func killDaemon() {
        daemon?.kill9()
        _ = daemon?.waitForExit(timeout: 10)
        daemon = nil
    }

    func stopDaemon() -> Int32? {
        defer { daemon = nil }
        return daemon?.stop(grace: 10)
    }

    /// The daemon's log lines over every launch.
    func log() -> String {
        (1...max(1, launches)).compactMap { try? String(contentsOfFile: directory + "/vigie.\($0).log", encoding: .utf8) }
            .joined()
    }

    /// Runs vigiectl against this daemon.
    func ctl(_ arguments: String..., asUser user: String? = nil) throws -> ProcessResult {
        let args = arguments + ["--config", configPath]
        if let user {
            return try ProcessRunner.run("/usr/sbin/runuser", ["-u", user, "--", try vigiectlForAnyone()] + args, timeout: 30)
        }
        return try ProcessRunner.run(Binaries.vigiectl, args, timeout: 30)
    }

    /// A copy of vigiectl that any user can execute: the build folder may sit in a
    /// directory only root can enter (a CI clone in a mode-0700 temp directory).
    func vigiectlForAnyone() throws -> String {
        let copy = directory + "/vigiectl"
        if !FileManager.default.fileExists(atPath: copy) {
            try FileManager.default.copyItem(atPath: Binaries.vigiectl, toPath: copy)
            chmod(copy, 0o755)
        }
        return copy
    }

    /// One authenticated submission (XCLIENT LOGIN stands in for SASL).
    func submit(as login: String, to recipients: [String] = ["friend@example.net"], subject: String = "hello")
        throws -> SMTPSendResult
    {
        try postfix.sendSMTP(from: "\(login)@vigie.test", to: recipients, subject: subject, login: login)
    }

    /// One submission with a real SASL login: AUTH PLAIN on the submission smtpd,
    /// checked by the attached Dovecot. The envelope sender is the login, with
    /// "@vigie.test" added when it has no domain.
    func submit(as login: String, password: String, to recipients: [String] = ["friend@example.net"],
                subject: String = "hello") throws -> SMTPSendResult
    {
        let port = try #require(submissionPort, "this VigieUnderTest has no Dovecot (pass dovecot: to init)")
        let sender = login.contains("@") ? login : "\(login)@vigie.test"
        return try SMTPClient.send(port: port, from: sender, to: recipients, subject: subject, body: "Test message.\n",
                                   credentials: SMTPCredentials(username: login, password: password))
    }

    deinit {
        _ = daemon?.stop(grace: 5)
        postfix.stop()
        dovecot?.stop()
        if !TestDirectory.keepRequested { try? FileManager.default.removeItem(atPath: directory) }
    }
}

extension VigieUnderTest {
    /// `GET /metrics` from the daemon's endpoint, over a plain socket.
    func scrapeMetrics() throws -> String { try EndToEndTests.scrapeMetrics(port: metricsPort) }

    /// The value of one sample line, e.g. `vigie_messages_total{verdict="accepted"}`.
    func metric(_ sample: String, in text: String) -> Double? { metricValue(sample, in: text) }
}

/// `GET /metrics` on a loopback port, over a plain socket.
func scrapeMetrics(port metricsPort: Int) throws -> String {
        let deadline = ContinuousClock.now + .seconds(10)
        let fd = try StreamSocket.connect(to: SocketAddress(host: "127.0.0.1", port: metricsPort)!, deadline: deadline)
        defer { close(fd) }
        try StreamSocket.write(fd, Array("GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8), deadline: deadline)
        var response: [UInt8] = []
        while case let chunk = try StreamSocket.read(fd, upTo: 65536, deadline: deadline), !chunk.isEmpty {
            response += chunk
        }
        return String(decoding: response, as: UTF8.self)
}

/// The value of one sample line in a Prometheus exposition.
func metricValue(_ sample: String, in text: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
        return Double(line.dropFirst(sample.count + 1))
    }
    return nil
}

/// The `[daemon]` table of a test daemon: everything in `directory`, running as root
/// (the tests are root), sockets for group postfix, vigiectl for root.
func daemonSection(directory: String, socket: String?, statePath: String? = nil) -> String {
    """
    [daemon]
    \(socket.map { "socket = \"\($0)\"" } ?? "")
    user = "root"
    socket_group = "postfix"
    state_path = "\(statePath ?? directory + "/state.sqlite")"
    control_socket = "\(directory)/control.sock"
    admin_group = "root"
    """
}
