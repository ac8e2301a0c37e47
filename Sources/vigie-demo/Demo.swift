import Foundation
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Replays incident #005 at high speed against a throw-away Postfix with Vigie
/// attached, and tells what happens, as a new user would want to see it.
///
/// Everything lives in one temporary directory (Postfix's queue, Vigie's state and
/// sockets) and on loopback; it is all removed at the end, also on error.
@main
struct Demo {
    static func main() {
        do {
            try run()
        } catch {
            say("\ndemo failed: \(error)")
            exit(1)
        }
    }

    static func say(_ text: String = "") {
        // Unbuffered, so the narration keeps pace with the replay even through a pipe;
        // a closed pipe (`| head`) is ignored rather than fatal, so cleanup still runs.
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }

    /// The daemon's pid, for the Ctrl-C handler: kill(2) is async-signal-safe.
    nonisolated(unsafe) static var daemonPID: pid_t = 0

    /// Ctrl-C stops the daemon too (Postfix has its own watchdog in VigieTestKit).
    static func installInterruptHandler() {
        signal(SIGPIPE, SIG_IGN)
        let handler: @convention(c) (Int32) -> Void = { signal in
            if Demo.daemonPID > 0 { kill(Demo.daemonPID, SIGTERM) }
            _exit(128 + signal)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    static func step(_ title: String) {
        say("\n== \(title)")
    }

    static func run() throws {
        installInterruptHandler()
        guard geteuid() == 0 else {
            say("The demo starts a private Postfix, which needs root. Run it as root (scripts/demo).")
            exit(1)
        }
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let vigieBinary = binaries + "/vigie"
        let vigiectlBinary = binaries + "/vigiectl"
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path

        say("""
        Incident #005, replayed.
        A member's password leaked through a forgotten web application. A script used it
        on authenticated submission to send about one message a second for 24 hours:
        86,000 messages, the server's IP blocklisted by Microsoft, found a day late.
        Here the same script meets Vigie, with the limits Vigie ships (conf/vigie.toml),
        and sends as fast as it can instead of once a second.
        """)

        step("Setting up a throw-away Postfix on loopback with Vigie attached")
        let directory = try TestDirectory.make(prefix: "vigie-demo-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/conf.d", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repository + "/conf/vigie.toml", toPath: directory + "/vigie.toml")
        try FileManager.default.copyItem(atPath: repository + "/conf/notices", toPath: directory + "/notices")
        let socket = "unix:\(directory)/milter/milter.sock"
        let postfix = try PostfixInstance(
            milters: socket, nonSMTPMilters: socket,
            extraMasterCF: ["cleanup/unix/milter_macro_daemon_name": "local-submission"])
        defer { postfix.stop() }
        // Only where things live changes; every limit is the shipped one.
        try """
        [daemon]
        socket = "\(socket)"
        user = "root"
        state_path = "\(directory)/state.sqlite"
        control_socket = "\(directory)/control.sock"
        admin_group = "root"
        [notices]
        contact = "postmaster@vigie.test"
        [notify]
        admin = "admins@vigie.test"
        member_domain = "vigie.test"
        from = "vigie@vigie.test"
        [postfix]
        config_directory = "\(postfix.configDirectory)"
        [metrics]
        listen = ""
        [logging]
        destination = "stderr"
        """.write(toFile: directory + "/conf.d/90-demo.toml", atomically: true, encoding: .utf8)
        let configPath = directory + "/vigie.toml"
        let daemon = try LaunchedProcess(vigieBinary, ["--config", configPath], outputPath: directory + "/vigie.log")
        daemonPID = daemon.pid
        defer { _ = daemon.stop(grace: 5) }
        _ = try daemon.waitForOutput(containing: "started", timeout: 20)
        try postfix.start()
        say("Postfix listens on 127.0.0.1:\(postfix.smtpPort); vigie on \(socket).")

        func ctl(_ arguments: String...) throws -> String {
            let result = try ProcessRunner.run(vigiectlBinary, arguments + ["--config", configPath], timeout: 30)
            return result.stdout + result.stderr
        }

        step("The script starts sending as camille (stolen password), as fast as it can")
        let started = Date()
        var accepted = 0
        var refused = 0
        var lockedAt: (attempt: Int, seconds: Double)?
        var heldQueueID: String?
        var overLimitNotice = ""
        var lockNotice = ""
        var refusedAfterLock = 0
        for attempt in 1...200 {
            let result = try postfix.sendSMTP(
                from: "camille@vigie.test", to: ["target\(attempt)@example.net"],
                subject: "Votre colis est en attente", body: "Cliquez ici.\n", login: "camille")
            if lockedAt != nil {
                // A locked account is refused at RCPT TO, so no body is ever taken.
                if let reply = result.rcptTo("target\(attempt)@example.net"), reply.code == 550 {
                    refusedAfterLock += 1
                    if lockNotice.isEmpty { lockNotice = reply.description }
                }
                if refusedAfterLock >= 20 { break }
                continue
            }
            if result.accepted {
                if accepted >= 20 || refused > 0 {
                    // Accepted after refusals: this is the one that tripped the lock.
                    lockedAt = (attempt, Date().timeIntervalSince(started))
                    heldQueueID = result.queueID
                    say(String(format: "  attempt %3d: taken in and HELD: the account is now locked (%.1f s)", attempt,
                               lockedAt!.seconds))
                    continue
                }
                accepted += 1
                if accepted <= 3 || accepted % 5 == 0 {
                    say("  attempt \(String(format: "%3d", attempt)): accepted (\(result.queueID ?? "?"))")
                }
            } else if let reply = result.rcptTo("target\(attempt)@example.net"), reply.code == 450 {
                refused += 1
                if overLimitNotice.isEmpty { overLimitNotice = reply.description }
                say("  attempt \(String(format: "%3d", attempt)): refused, 450 over a limit (refusal \(refused) in a row)")
            }
        }
        say("  ... then \(refusedAfterLock) more attempts, every one refused with 550 at RCPT TO.")

        step("What happened")
        if let lockedAt {
            say(String(format: """
            The account was locked after %d accepted messages, %.1f seconds after the first.
            The incident sent 86,000. Nothing was accepted after the lock.
            """, accepted, lockedAt.seconds))
        } else {
            say("The account was NOT locked: something is wrong with this setup.")
        }

        step("What camille's mail program shows when a limit is hit (SMTP reply)")
        say(overLimitNotice)
        step("What it shows once the account is locked")
        say(lockNotice)

        step("Postfix's hold queue: the message that tripped the lock, kept as evidence")
        if let heldQueueID {
            _ = try? postfix.waitForQueue(timeout: 10) { queue in queue.contains { $0.queueID == heldQueueID && $0.isHeld } }
        }
        for entry in try postfix.queue() where entry.isHeld {
            say("  \(entry.queueID)  held   from \(entry.sender) to \(entry.recipientAddresses.joined(separator: ", "))")
        }
        let queued = try postfix.queue().filter { !$0.isHeld }
        say("  and \(queued.count) accepted message(s) of the burst still in the queue, recorded for the admins.")

        step("The mail the admins receive")
        if let notice = try? postfix.waitForMail(to: "admins@vigie.test", containing: "camille", timeout: 20) {
            let body = notice.components(separatedBy: "\n\n").dropFirst().joined(separator: "\n\n")
            say(notice.split(separator: "\n").first { $0.hasPrefix("Subject:") }.map(String.init) ?? "")
            say(body.split(separator: "\n").prefix(14).joined(separator: "\n"))
            say("  [...]")
        } else {
            say("(no notification arrived within 20 s)")
        }

        step("What the admin sees: vigiectl show camille")
        say(try ctl("show", "camille"))

        step("Once the password is changed: hold the burst, then unlock")
        say("$ vigiectl hold camille")
        say(try ctl("hold", "camille"))
        say("$ vigiectl unlock camille --reason \"password changed\"")
        say(try ctl("unlock", "camille", "--reason", "password changed"))
        let again = try postfix.sendSMTP(from: "camille@vigie.test", to: ["friend@example.net"],
                                         subject: "Back", body: "Hello again.\n", login: "camille")
        say(again.accepted ? "camille can send again: 250 \(again.queueID ?? "")" : "camille still cannot send: \(again)")

        step("Vigie's log lines for camille (grep a queue id to follow one message)")
        let log = (try? String(contentsOfFile: directory + "/vigie.log", encoding: .utf8)) ?? ""
        let lines = log.split(separator: "\n").filter { $0.contains("camille") }
        for line in lines.prefix(4) + (lines.count > 8 ? ["  ..."] : []) + lines.suffix(4) { say(String(line)) }

        step("Cleaning up: Postfix stopped, Vigie stopped, \(directory) removed")
    }
}
