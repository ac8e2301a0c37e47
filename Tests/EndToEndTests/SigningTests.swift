// End to end: the sign role (`vigie --role sign`) after the submission role on a
// private Postfix's smtpd and local submission. Keys made by `vigiectl dkim keygen`
// (RSA-2048 and Ed25519 for one domain), their records served by nsd on loopback;
// the delivered mail checked by dkimpy, by opendkim in verify mode and by Vigie's
// own inbound checks (`vigiectl check`). See docs/ARCHITECTURE.md, "Signing".

import Foundation
import Testing
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

@Suite("DKIM signing (real Postfix, real nsd, both roles)", .serialized)
struct SigningTests {
    @Test("a member's message leaves with an RSA and an Ed25519 signature that three verifiers pass")
    func memberMailIsDualSigned() throws {
        let setup = try SigningSetup()
        let client = try setup.postfix.smtpClient()
        defer { _ = try? client.quit() }
        try setup.present(client, login: "camille")
        #expect(try client.mailFrom("camille@club.sign.test").code == 250)
        #expect(try client.rcptTo("alice@vigie.test").code == 250)
        let end = try client.data(SMTPClient.makeMessage(from: "Camille <camille@club.sign.test>", to: ["alice@vigie.test"],
                                                         subject: "Assemblée générale", body: "L'assemblée a lieu jeudi.\n"))
        try #require(end.code == 250, "\(end)\n\(setup.diagnostics())")
        let delivered = try setup.postfix.waitForMail(to: "alice@vigie.test", containing: "jeudi", timeout: 30)
        let header = delivered.components(separatedBy: "\n\n").first ?? delivered
        let signatures = InboundSetup.fields(named: "DKIM-Signature", in: header)
        try #require(signatures.count == 2, "\(header)\n\(setup.diagnostics())")
        #expect(signatures[0].contains("a=rsa-sha256") && signatures[0].contains("s=r2026"), "RSA first, as the key table says: \(signatures)")
        #expect(signatures[1].contains("a=ed25519-sha256") && signatures[1].contains("s=e2026"), "\(signatures)")
        #expect(signatures.allSatisfy { $0.contains("d=club.sign.test") && $0.contains("c=relaxed/relaxed") })

        let message = SigningSetup.crlf(delivered)
        let dkimpy = try ExternalDKIMVerifiers.dkimpy(message: message, nameserver: setup.nameserver)
        #expect(dkimpy.sorted() == ["pass d=club.sign.test s=e2026 a=ed25519-sha256", "pass d=club.sign.test s=r2026 a=rsa-sha256"],
                "\(dkimpy)")
        let opendkim = try ExternalDKIMVerifiers.opendkim(message: message, nameserver: setup.nameserver)
        for selector in ["r2026", "e2026"] {
            #expect(opendkim.contains { $0.contains("dkim=pass") && $0.contains("header.s=\(selector) ") }, "\(opendkim)")
        }
        // Vigie's own inbound checks (the code the inbound role runs) say dkim=pass.
        let check = try setup.vigiectl(["check", setup.write(message, name: "delivered.eml"), "--client-ip", "192.0.2.1",
                                        "--helo", "mail.club.sign.test", "--mail-from", "camille@club.sign.test",
                                        "--nameserver", setup.nameserver, "--authserv-id", "mx.vigie.test"])
        #expect(check.stdout.components(separatedBy: "dkim=pass").count - 1 == 2, "\(check)")

        // One log line with the queue id and the keys; counted by algorithm.
        let line = setup.signLog().split(separator: "\n").first { $0.contains("sign: signed") }
        #expect(line?.contains("signatures=rsa-sha256:r2026,ed25519-sha256:e2026") == true, "\(setup.signLog())")
        let metrics = try scrapeMetrics(port: setup.signMetricsPort)
        #expect(metricValue("vigie_dkim_signatures_total{algorithm=\"rsa-sha256\"}", in: metrics) == 1, "\(metrics)")
        #expect(metricValue("vigie_dkim_signatures_total{algorithm=\"ed25519-sha256\"}", in: metrics) == 1)
        #expect(metricValue("vigie_dkim_signed_messages_total", in: metrics) == 1)
        // libopendkim was handed both keys already decoded (CDKIMKeyCache), none decoded again.
        #expect(metricValue("vigie_dkim_signing_key_cache_total{outcome=\"hit\"}", in: metrics) == 2, "\(metrics)")
        #expect(metricValue("vigie_dkim_signing_key_cache_total{outcome=\"miss\"}", in: metrics) == 0)
    }

    @Test("local submission (sendmail) is signed too; mail from the internet and other From domains are not")
    func onlyMembersOwnDomainsAreSigned() throws {
        let setup = try SigningSetup()
        // The local sendmail path: {daemon_name} is the local submission's.
        let local = try setup.postfix.sendmail(from: "camille@club.sign.test", to: ["alice@vigie.test"],
                                               body: "From: camille@club.sign.test\nTo: alice@vigie.test\nSubject: local path\n\nHello.\n")
        #expect(local.succeeded, "\(local)")
        // A member writing From a domain no key signs.
        let client = try setup.postfix.smtpClient()
        try setup.present(client, login: "camille")
        #expect(try client.mailFrom("camille@club.sign.test").code == 250)
        #expect(try client.rcptTo("alice@vigie.test").code == 250)
        #expect(try client.data(SMTPClient.makeMessage(from: "camille@elsewhere.example", to: ["alice@vigie.test"],
                                                        subject: "other domain", body: "Hi.\n")).code == 250)
        _ = try? client.quit()
        // Mail from the internet claiming the club's From: never ours to sign.
        let outsider = try setup.postfix.smtpClient()
        try setup.present(outsider, login: nil)
        #expect(try outsider.mailFrom("someone@example.net").code == 250)
        #expect(try outsider.rcptTo("alice@vigie.test").code == 250)
        #expect(try outsider.data(SMTPClient.makeMessage(from: "president@club.sign.test", to: ["alice@vigie.test"],
                                                          subject: "from outside", body: "Hi.\n")).code == 250)
        _ = try? outsider.quit()

        let signedLocal = try setup.postfix.waitForMail(to: "alice@vigie.test", containing: "local path", timeout: 30)
        #expect(InboundSetup.fields(named: "DKIM-Signature", in: signedLocal.components(separatedBy: "\n\n")[0]).count == 2,
                "\(signedLocal)\n\(setup.diagnostics())")
        let dkimpy = try ExternalDKIMVerifiers.dkimpy(message: SigningSetup.crlf(signedLocal), nameserver: setup.nameserver)
        #expect(dkimpy.count == 2 && dkimpy.allSatisfy { $0.hasPrefix("pass ") }, "\(dkimpy)")
        for subject in ["other domain", "from outside"] {
            let mail = try setup.postfix.waitForMail(to: "alice@vigie.test", containing: subject, timeout: 30)
            #expect(!mail.contains("DKIM-Signature"), "\(subject) was signed:\n\(mail)")
        }
        let metrics = try scrapeMetrics(port: setup.signMetricsPort)
        #expect(metricValue("vigie_dkim_unsigned_total{reason=\"no_key\"}", in: metrics) == 1, "\(metrics)")
        #expect(metricValue("vigie_dkim_unsigned_total{reason=\"not_member\"}", in: metrics) == 1, "\(metrics)")
    }

    @Test("in_submission: the submission milter signs by itself, limits still refuse at RCPT, internet mail stays unsigned")
    func theSubmissionRoleSigns() throws {
        let setup = try SigningSetup(inSubmission: true)
        let client = try setup.postfix.smtpClient()
        defer { _ = try? client.quit() }
        try setup.present(client, login: "camille")
        // per_minute = 5: five accepted and signed, the sixth refused at RCPT (no body sent).
        for index in 1...6 {
            #expect(try client.mailFrom("camille@club.sign.test").code == 250)
            let rcpt = try client.rcptTo("alice@vigie.test")
            if index == 6 {
                #expect(rcpt.code == 450, "\(rcpt)\n\(setup.diagnostics())")
                _ = try client.rset()
                break
            }
            try #require(rcpt.code == 250, "\(rcpt)\n\(setup.diagnostics())")
            let end = try client.data(SMTPClient.makeMessage(from: "Camille <camille@club.sign.test>", to: ["alice@vigie.test"],
                                                             subject: "message \(index)", body: "Bonjour.\n"))
            try #require(end.code == 250, "\(end)\n\(setup.diagnostics())")
        }
        let outsider = try setup.postfix.smtpClient()
        try setup.present(outsider, login: nil)
        #expect(try outsider.mailFrom("someone@example.net").code == 250)
        #expect(try outsider.rcptTo("alice@vigie.test").code == 250)
        #expect(try outsider.data(SMTPClient.makeMessage(from: "president@club.sign.test", to: ["alice@vigie.test"],
                                                          subject: "from outside", body: "Hi.\n")).code == 250)
        _ = try? outsider.quit()

        for index in 1...5 {
            let mail = try setup.postfix.waitForMail(to: "alice@vigie.test", containing: "message \(index)", timeout: 30)
            let header = mail.components(separatedBy: "\n\n")[0]
            #expect(InboundSetup.fields(named: "DKIM-Signature", in: header).count == 2, "\(header)\n\(setup.diagnostics())")
            if index == 1 {
                let dkimpy = try ExternalDKIMVerifiers.dkimpy(message: SigningSetup.crlf(mail), nameserver: setup.nameserver)
                #expect(dkimpy.count == 2 && dkimpy.allSatisfy { $0.hasPrefix("pass ") }, "\(dkimpy)")
            }
        }
        let outside = try setup.postfix.waitForMail(to: "alice@vigie.test", containing: "from outside", timeout: 30)
        #expect(!outside.contains("DKIM-Signature"), "\(outside)")
        let metrics = try scrapeMetrics(port: setup.signMetricsPort)
        #expect(metricValue("vigie_dkim_signed_messages_total", in: metrics) == 5, "\(metrics)")
        #expect(metricValue("vigie_dkim_signing_key_cache_total{outcome=\"miss\"}", in: metrics) == 0, "\(metrics)")
    }

    @Test("an unreadable, group-readable, mismatched or weak key refuses the start with file:line:key")
    func badKeysRefuseTheStart() throws {
        let directory = try TestDirectory.make(prefix: "vigie-signkeys-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = directory + "/k.pem"
        _ = try ProcessRunner.runChecked(Binaries.vigiectl, ["dkim", "keygen", "club.sign.test", "k", "--output", key, "--owner", "root"])
        var status = stat()
        #expect(stat(key, &status) == 0 && status.st_mode & 0o777 == 0o600)
        func start(_ file: String, algorithm: String) throws -> ProcessResult {
            try """
            \(daemonSection(directory: directory, socket: nil))
            [notices]
            directory = "\(Binaries.packageRoot)/conf/notices"
            contact = "postmaster@vigie.test"
            [logging]
            destination = "stderr"
            [dkim.sign]
            socket = "unix:\(directory)/sign.sock"

            [[dkim.sign.key]]
            domain = "club.sign.test"
            selector = "k"
            file = "\(file)"
            algorithm = "\(algorithm)"
            """.write(toFile: directory + "/vigie.toml", atomically: true, encoding: .utf8)
            return try ProcessRunner.run(Binaries.vigie, ["--config", directory + "/vigie.toml", "--role", "sign", "--check-config"])
        }
        let good = try start(key, algorithm: "rsa-sha256")
        #expect(good.status == 0, "\(good)")
        /// "FILE:LINE: KEY" of the line that sets `key` in the [[dkim.sign.key]] table.
        func place(_ key: String) throws -> String {
            let lines = try String(contentsOfFile: directory + "/vigie.toml", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let line = (lines.firstIndex { $0.hasPrefix("\(key) =") } ?? -1) + 1
            return "\(directory)/vigie.toml:\(line): dkim.sign.key[1].\(key)"
        }
        let mismatched = try start(key, algorithm: "ed25519-sha256")
        let algorithmLine = try place("algorithm"), fileLine = try place("file")
        #expect(mismatched.status == 78 && mismatched.stderr.contains(algorithmLine), "\(mismatched)")
        let missing = try start(directory + "/none.pem", algorithm: "rsa-sha256")
        #expect(missing.status == 78 && missing.stderr.contains(fileLine), "\(missing)")
        chmod(key, 0o640)
        let shared = try start(key, algorithm: "rsa-sha256")
        #expect(shared.status == 78 && shared.stderr.contains(fileLine) && shared.stderr.contains("chmod 600"), "\(shared)")
        let weak = directory + "/weak.pem"
        _ = try ProcessRunner.runChecked("/usr/bin/openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512", "-out", weak])
        chmod(weak, 0o600)
        let tooWeak = try start(weak, algorithm: "rsa-sha256")
        #expect(tooWeak.status == 78 && tooWeak.stderr.contains(fileLine) && tooWeak.stderr.contains("512 bits"), "\(tooWeak)")
    }
}

/// The submission and sign roles on one configuration, a private Postfix calling
/// both (smtpd and local submission), and nsd serving keys made for this setup.
final class SigningSetup {
    let directory: String
    let postfix: PostfixInstance
    let nameserver: String
    let signMetricsPort: Int
    private var daemons: [LaunchedProcess] = []

    /// `inSubmission`: the submission role signs (`[dkim.sign] in_submission`), no sign role.
    init(inSubmission: Bool = false) throws {
        try #require(geteuid() == 0, "end-to-end tests run a private Postfix and need root (use scripts/test)")
        directory = try TestDirectory.make(prefix: "vigie-sign-")
        var records: [String] = []
        for (selector, algorithm) in [("r2026", "rsa"), ("e2026", "ed25519")] {
            let made = try ProcessRunner.runChecked(Binaries.vigiectl, [
                "dkim", "keygen", "club.sign.test", selector, "--algorithm", algorithm,
                "--output", "\(directory)/keys/\(selector).pem", "--owner", "root"])
            records += made.stdout.split(separator: "\n").filter { !$0.hasPrefix(";") }.map(String.init)
        }
        let zone = """
        $ORIGIN sign.test.
        $TTL 300
        @       SOA ns.sign.test. hostmaster.sign.test. 1 3600 600 86400 300
                NS  ns.sign.test.
        ns      A   127.0.0.1
        club    TXT "v=spf1 ip4:192.0.2.0/24 -all"
        _dmarc.club TXT "v=DMARC1; p=reject"
        \(records.joined(separator: "\n"))

        """
        try zone.write(toFile: "\(directory)/sign.zone", atomically: true, encoding: .utf8)
        nameserver = try FixtureNameserver.address(zone: "sign.test", zoneFile: "\(directory)/sign.zone") { address in
            (try? ProcessRunner.run("/usr/bin/python3", ["-c", """
                import dns.resolver, sys
                r = dns.resolver.Resolver(configure=False); r.nameservers = ["127.0.0.1"]; r.port = int(sys.argv[1])
                r.resolve("ns.sign.test", "A", lifetime=0.5)
                """, String(address.split(separator: ":").last ?? "")], timeout: 5).succeeded) ?? false
        }
        let submission = "unix:\(directory)/milter/submission.sock"
        let sign = "unix:\(directory)/milter/sign.sock"
        let milters = inSubmission ? submission : "\(submission) \(sign)"
        postfix = try PostfixInstance(
            milters: milters, nonSMTPMilters: milters,
            extraMainCF: ["milter_default_action": "tempfail"],
            extraMasterCF: ["cleanup/unix/milter_macro_daemon_name": "local-submission"])
        signMetricsPort = try LoopbackPort.free()
        let config = """
        \(daemonSection(directory: directory, socket: submission))
        [identity]
        local_daemon_name = "local-submission"
        [notices]
        directory = "\(Binaries.packageRoot)/conf/notices"
        contact = "postmaster@vigie.test"
        [notify]
        enabled = false
        [logging]
        destination = "stderr"
        [metrics]
        listen = "\(inSubmission ? "127.0.0.1:\(signMetricsPort)" : "")"
        [limits.messages]
        per_minute = 5
        [dkim.sign]
        socket = "\(sign)"
        metrics_listen = "\(inSubmission ? "" : "127.0.0.1:\(signMetricsPort)")"
        in_submission = \(inSubmission)

        [[dkim.sign.key]]
        domain = "club.sign.test"
        selector = "r2026"
        file = "\(directory)/keys/r2026.pem"
        algorithm = "rsa-sha256"

        [[dkim.sign.key]]
        domain = "club.sign.test"
        selector = "e2026"
        file = "\(directory)/keys/e2026.pem"
        algorithm = "ed25519-sha256"
        """
        try config.write(toFile: directory + "/vigie.toml", atomically: true, encoding: .utf8)
        for role in inSubmission ? ["submission"] : ["submission", "sign"] {
            let process = try LaunchedProcess(Binaries.vigie, ["--config", directory + "/vigie.toml", "--role", role],
                                              outputPath: "\(directory)/\(role).log")
            daemons.append(process)
            _ = try process.waitForOutput(containing: "started", timeout: 20)
        }
        try postfix.start()
    }

    /// EHLO, then XCLIENT: a member with `login`, an internet client without.
    func present(_ client: SMTPClient, login: String?) throws {
        try client.ehlo("mail.club.sign.test")
        var attributes = [("ADDR", "192.0.2.1"), ("NAME", "mail.club.sign.test"), ("HELO", "mail.club.sign.test")]
        if let login { attributes.append(("LOGIN", login)) }
        let reply = try client.xclient(attributes: attributes)
        try #require(reply.code == 220, "XCLIENT: \(reply)")
    }

    func vigiectl(_ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run(Binaries.vigiectl, arguments, timeout: 30)
    }

    func write(_ bytes: [UInt8], name: String) throws -> String {
        let path = "\(directory)/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A delivered Maildir file (LF line ends) as the wire carries it.
    static func crlf(_ text: String) -> [UInt8] {
        Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    /// The log of whichever role signs.
    func signLog() -> String {
        let sign = (try? String(contentsOfFile: "\(directory)/sign.log", encoding: .utf8)) ?? ""
        return sign + ((try? String(contentsOfFile: "\(directory)/submission.log", encoding: .utf8)) ?? "")
    }

    func diagnostics() -> String {
        let submission = (try? String(contentsOfFile: "\(directory)/submission.log", encoding: .utf8)) ?? ""
        return "--- sign ---\n\(signLog())\n--- submission ---\n\(submission)\n\(postfix.diagnostics())"
    }

    deinit {
        for daemon in daemons { _ = daemon.stop(grace: 5) }
        postfix.stop()
        if !TestDirectory.keepRequested { try? FileManager.default.removeItem(atPath: directory) }
    }
}
