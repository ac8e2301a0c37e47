// End to end: SRS for forwarded mail only, with a private Postfix wired as
// conf/postfix/main.cf.srs and master.cf.srs say, the real vigie daemon serving the SRS
// tables, real local(8) forwarding (.forward, aliases), a virtual alias, and an outside
// SMTP sink the test runs. See docs/ARCHITECTURE.md, "SRS".

import Foundation
import VigieSockets
import Testing
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

@Suite("SRS for forwarded mail (real Postfix, real daemon)", .serialized)
struct SRSForwardingTests {
    @Test("forwards carry SRS senders, local mailboxes keep the original, bounces return, forged SRS refused at RCPT")
    func forwardingEndToEnd() throws {
        let setup = try SRSSetup()
        let postfix = setup.postfix
        let sender = "writer@example.org"

        // One message to: a user with .forward, an alias, a virtual alias that fans out to a
        // local mailbox and an outside address, a local mailbox (local(8)), a virtual mailbox.
        let recipients = ["fwduser@local.club.test", "listfwd@local.club.test", "valias@club.test",
                          "boxuser@local.club.test", "bob@club.test"]
        let result = try postfix.sendSMTP(from: sender, to: recipients, subject: "srs e2e")
        #expect(result.accepted, "\(result)")

        // (a), (b): every outside copy has an SRS0 sender in the SRS domain.
        let outside = ["fwd-target@example.net", "alias-target@example.net", "virtual-target@example.net"]
        let envelopes = try setup.sink.waitForEnvelopes(toAll: outside, timeout: 60, diagnostics: postfix.diagnostics)
        for target in outside {
            let envelope = try #require(envelopes.first { $0.recipients.contains(target) })
            #expect(envelope.sender.hasPrefix("SRS0="), "\(target): \(envelope.sender)")
            #expect(envelope.sender.hasSuffix("=example.org=writer@club.test"), "\(target): \(envelope.sender)")
        }

        // (c): mail that stays here keeps the original envelope sender.
        let boxMessage = try Wait.forValue("boxuser's local(8) delivery", timeout: 30, interval: 0.2) {
            setup.maildirMessages(user: "boxuser").first
        }
        #expect(boxMessage.contains("Return-Path: <\(sender)>"), "\(boxMessage.prefix(400))")
        let bob = try postfix.waitForMail(to: "bob@club.test", containing: "srs e2e", timeout: 30)
        #expect(bob.contains("Return-Path: <\(sender)>"), "\(bob.prefix(400))")
        // The virtual alias's local member too.
        let alice = try postfix.waitForMail(to: "alice@club.test", containing: "srs e2e", timeout: 30)
        #expect(alice.contains("Return-Path: <\(sender)>"), "\(alice.prefix(400))")
        #expect(!alice.contains("SRS0="))

        // (d): a bounce to the SRS address reaches the original sender.
        let srsAddress = try #require(envelopes.first?.sender)
        let bounce = try postfix.sendSMTP(from: "", to: [srsAddress], subject: "Undelivered Mail Returned to Sender")
        #expect(bounce.accepted, "\(bounce)")
        let returned = try setup.sink.waitForEnvelopes(toAll: [sender], timeout: 60, diagnostics: postfix.diagnostics)
        #expect(returned.contains { $0.recipients == [sender] && $0.sender.isEmpty })

        // (e): forged, expired and malformed SRS recipients are refused at RCPT with 550.
        let forged = srsAddress.replacingOccurrences(of: "SRS0=", with: "SRS0=x").replacingOccurrences(of: "=x", with: "=")
        var forgedHash = Array(srsAddress)
        forgedHash[5] = forgedHash[5] == "A" ? "B" : "A"
        forgedHash[6] = forgedHash[6] == "A" ? "B" : "A"
        let expired = try setup.ctl("srs", "forward", "writer@example.org", "--issued-at",
                                    String(Int(Date().timeIntervalSince1970) - 30 * 86_400)).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(expired.hasPrefix("SRS0="), "\(expired)")
        let refusals: [(String, String)] = [
            (String(forgedHash), "invalid SRS signature"),
            (expired, "expired"),
            ("SRS0=abcd=ZZ@club.test", "malformed SRS address"),
        ]
        _ = forged
        for (address, reason) in refusals {
            let attempt = try postfix.sendSMTP(from: "someone@example.com", to: [address], subject: "backscatter")
            let reply = try #require(attempt.rcptTo(address), "\(attempt)")
            #expect(reply.code == 550, "\(address): \(reply)")
            #expect(reply.text.contains(reason), "\(address): \(reply)")
            #expect(!attempt.accepted)
        }
        // A member's own mail to the outside keeps its sender (no SRS for the SRS domain).
        let own = try postfix.sendSMTP(from: "bob@club.test", to: ["friend@example.net"], subject: "own mail")
        #expect(own.accepted, "\(own)")
        let ownEnvelope = try setup.sink.waitForEnvelopes(toAll: ["friend@example.net"], timeout: 60, diagnostics: postfix.diagnostics)
        #expect(ownEnvelope.first { $0.recipients.contains("friend@example.net") }?.sender == "bob@club.test")

        // vigiectl reverses what the daemon issued, with the same secrets and no daemon.
        let reversed = try ProcessRunner.run(Binaries.vigiectl, ["srs", "reverse", srsAddress, "--secrets", setup.secretsPath,
                                                                 "--srs-domain", "club.test"], timeout: 30)
        #expect(reversed.succeeded && reversed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == sender, "\(reversed)")
        let refused = try ProcessRunner.run(Binaries.vigiectl, ["srs", "reverse", String(forgedHash), "--secrets", setup.secretsPath,
                                                                "--srs-domain", "club.test"], timeout: 30)
        #expect(!refused.succeeded && refused.stderr.contains("invalid SRS signature"), "\(refused)")
        #expect(setup.daemonLog().contains("srs forward"), "\(setup.daemonLog().suffix(2000))")
        // The rewrites show in the metrics, by direction, and the refusals too.
        let metrics = try scrapeMetrics(port: setup.metricsPort)
        #expect((metricValue("vigie_srs_rewrites_total{direction=\"forward\"}", in: metrics) ?? 0) >= 3, "\(metrics)")
        #expect((metricValue("vigie_srs_rewrites_total{direction=\"reverse\"}", in: metrics) ?? 0) >= 1)
        #expect((metricValue("vigie_srs_refused_total", in: metrics) ?? 0) >= 3)
    }
}

/// The private Postfix, the daemon, two local(8) users, the sink.
final class SRSSetup {
    let directory: String
    let postfix: PostfixInstance
    let sink: SMTPSink
    let daemon: LaunchedProcess
    let metricsPort: Int
    let configPath: String
    let secretsPath: String
    private let users: [String]

    init() throws {
        try #require(geteuid() == 0, "end-to-end tests run a private Postfix and need root (use scripts/test)")
        let directory = try TestDirectory.make(prefix: "vigie-srs-e2e-")
        self.directory = directory
        chmod(directory, 0o755)
        let secretsPath = directory + "/srs.secret"
        self.secretsPath = secretsPath
        sink = try SMTPSink()
        let forwardPort = try LoopbackPort.free()
        let reversePort = try LoopbackPort.free()
        let socketmapPort = try LoopbackPort.free()
        let reinjectPort = try LoopbackPort.free()
        try "e2e-secret-\(getpid())\n".write(toFile: secretsPath, atomically: true, encoding: .utf8)
        chmod(secretsPath, 0o600)

        // Two local(8) users: one forwards with ~/.forward, one keeps its mail.
        var users: [String] = []
        for (user, forward) in [("vsrsfwd\(getpid() % 10000)", "fwd-target@example.net"), ("vsrsbox\(getpid() % 10000)", nil)] {
            let home = "\(directory)/home/\(user)"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            _ = try ProcessRunner.run("/usr/sbin/userdel", [user], timeout: 30)
            try ProcessRunner.runChecked("/usr/sbin/useradd", ["-M", "-d", home, "-s", "/usr/sbin/nologin", user], timeout: 30)
            users.append(user)
            if let forward { try (forward + "\n").write(toFile: home + "/.forward", atomically: true, encoding: .utf8) }
            try ProcessRunner.runChecked("/bin/chown", ["-R", "\(user):", home], timeout: 30)
        }
        self.users = users
        let fwdUser = users[0], boxUser = users[1]

        let socketmap = "socketmap:inet:127.0.0.1:\(socketmapPort)"
        postfix = try PostfixInstance(
            extraMainCF: [
                "mydestination": "local.club.test",
                "local_transport": "local",
                "local_recipient_maps": "",
                "home_mailbox": "Maildir/",
                "defer_transports": "",
                "relayhost": "[127.0.0.1]:\(sink.port)",
                // The SRS wiring (conf/postfix/main.cf.srs).
                "recipient_canonical_maps": "tcp:127.0.0.1:\(reversePort)",
                "recipient_canonical_classes": "envelope_recipient,header_recipient",
                "sender_dependent_default_transport_maps": "\(socketmap):transport",
                "smtpd_recipient_restrictions": "check_recipient_access \(socketmap):access, permit_mynetworks, reject_unauth_destination",
            ],
            additionalServices: [
                // conf/postfix/master.cf.srs: the re-injection smtpd and its cleanup.
                "127.0.0.1:\(reinjectPort) inet n - n - - smtpd -o myhostname=srs-reinject.localhost -o cleanup_service_name=srscleanup -o smtpd_milters= -o smtpd_recipient_restrictions=permit_mynetworks,reject -o smtpd_relay_restrictions=permit_mynetworks,reject -o mynetworks=127.0.0.0/8",
                "srscleanup unix n - n - 0 cleanup -o sender_canonical_maps=tcp:127.0.0.1:\(forwardPort) -o sender_canonical_classes=envelope_sender -o virtual_alias_maps= -o recipient_canonical_maps= -o canonical_maps=",
            ],
            domain: "club.test")
        // Aliases and the virtual alias (mixed: a local mailbox and an outside address).
        try "listfwd: alias-target@example.net\nfwduser: \(fwdUser)@local.club.test\nboxuser: \(boxUser)@local.club.test\n"
            .write(toFile: postfix.configDirectory + "/aliases", atomically: true, encoding: .utf8)
        try ProcessRunner.runChecked("/usr/sbin/postalias", ["-c", postfix.configDirectory, "hash:\(postfix.configDirectory)/aliases"], timeout: 30)
        try "valias@club.test virtual-target@example.net, alice@club.test\n"
            .write(toFile: postfix.configDirectory + "/virtual", atomically: true, encoding: .utf8)
        try postfix.postconf("alias_maps=hash:\(postfix.configDirectory)/aliases", "alias_database=hash:\(postfix.configDirectory)/aliases",
                             "virtual_alias_maps=texthash:\(postfix.configDirectory)/virtual")

        configPath = directory + "/vigie.toml"
        metricsPort = try LoopbackPort.free()
        try """
        \(daemonSection(directory: directory, socket: "unix:\(directory)/milter.sock"))
        [notices]
        directory = "\(Binaries.packageRoot)/conf/notices"
        [logging]
        destination = "stderr"
        [metrics]
        listen = "127.0.0.1:\(metricsPort)"
        [srs]
        enabled = true
        domain = "club.test"
        secrets_file = "\(secretsPath)"
        tcp_forward = "127.0.0.1:\(forwardPort)"
        tcp_reverse = "127.0.0.1:\(reversePort)"
        socketmap = "inet:127.0.0.1:\(socketmapPort)"
        forward_transport = "smtp:[127.0.0.1]:\(reinjectPort)"
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        daemon = try LaunchedProcess(Binaries.vigie, ["--config", configPath], outputPath: directory + "/vigie.log")
        _ = try daemon.waitForOutput(containing: "srs started", timeout: 20)
        try postfix.start()
    }

    func ctl(_ arguments: String...) throws -> ProcessResult {
        try ProcessRunner.run(Binaries.vigiectl, arguments + ["--config", configPath], timeout: 30)
    }

    func daemonLog() -> String { (try? String(contentsOfFile: directory + "/vigie.log", encoding: .utf8)) ?? "" }

    /// Messages delivered by local(8) to `~user/Maildir` (user: "boxuser" or "fwduser").
    func maildirMessages(user: String) -> [String] {
        let name = user == "boxuser" ? users[1] : users[0]
        var messages: [String] = []
        for sub in ["new", "cur"] {
            let path = "\(directory)/home/\(name)/Maildir/\(sub)"
            for file in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                if let text = try? String(contentsOfFile: "\(path)/\(file)", encoding: .utf8) { messages.append(text) }
            }
        }
        return messages
    }

    deinit {
        _ = daemon.stop(grace: 5)
        postfix.stop()
        sink.stop()
        for user in users { _ = try? ProcessRunner.run("/usr/sbin/userdel", [user], timeout: 30) }
        if !TestDirectory.keepRequested { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// A minimal outside SMTP server on loopback that accepts everything and records
/// envelopes (the "internet" the forwarded copies go to).
final class SMTPSink: @unchecked Sendable {
    struct Envelope: Sendable {
        var sender: String
        var recipients: [String]
    }

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var envelopes: [Envelope] = []
    private var stopped = false

    init() throws {
        do {
            listener = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0), backlog: 16)
        } catch {
            throw HarnessError("sink: \(error)")
        }
        port = StreamSocket.boundPort(listener) ?? 0
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    var received: [Envelope] { lock.withLock { envelopes } }

    func waitForEnvelopes(toAll recipients: [String], timeout: TimeInterval, diagnostics: () -> String) throws -> [Envelope] {
        do {
            return try Wait.forValue("the sink to receive mail for \(recipients)", timeout: timeout, interval: 0.2) {
                let all = received
                let got = Set(all.flatMap(\.recipients))
                return recipients.allSatisfy(got.contains) ? all : nil
            }
        } catch {
            throw HarnessError("\(error)\nsink has: \(received.map { "\($0.sender) -> \($0.recipients)" })\n\(diagnostics())")
        }
    }

    private func acceptLoop() {
        while true {
            guard let connection = StreamSocket.accept(listener) else {
                if lock.withLock({ stopped }) { return }
                continue
            }
            let thread = Thread { [self] in
                serve(connection)
                close(connection)
            }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        func write(_ line: String) { _ = StreamSocket.writeAll(fd, Array((line + "\r\n").utf8)) }
        var buffer: [UInt8] = []
        func readLine() -> String? {
            while true {
                if let newline = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[..<newline], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
                    buffer.removeFirst(newline + 1)
                    return line
                }
                guard let chunk = try? StreamSocket.read(fd, upTo: 4096, deadline: .now + .seconds(60)), !chunk.isEmpty else { return nil }
                buffer += chunk
            }
        }
        func address(_ line: String) -> String {
            guard let open = line.firstIndex(of: "<"), let close = line.firstIndex(of: ">") else { return "" }
            return String(line[line.index(after: open)..<close])
        }
        write("220 sink.example.net ESMTP")
        var current = Envelope(sender: "", recipients: [])
        while let line = readLine() {
            let verb = line.prefix(4).uppercased()
            switch verb {
            case "EHLO": write("250-sink.example.net\r\n250 8BITMIME")
            case "HELO": write("250 sink.example.net")
            case "MAIL": current = Envelope(sender: address(line), recipients: []); write("250 2.1.0 ok")
            case "RCPT": current.recipients.append(address(line)); write("250 2.1.5 ok")
            case "DATA":
                write("354 go ahead")
                while let body = readLine(), body != "." {}
                let envelope = current
                lock.withLock { envelopes.append(envelope) }
                write("250 2.0.0 queued")
            case "RSET": current = Envelope(sender: "", recipients: []); write("250 ok")
            case "QUIT": write("221 bye"); return
            default: write("250 ok")
            }
        }
    }
}
