// End to end: the inbound role (`vigie --role inbound`) attached to a private
// Postfix's smtpd, checking SPF and DKIM against a real nsd on loopback serving
// fixtures/auth/zones/test.zone. XCLIENT presents a non-loopback client (loopback
// always passes SPF); mail goes to a local mailbox (outside relaying with a faked
// ADDR is refused by the harness's restrictions). See docs/ARCHITECTURE.md,
// "Inbound checks".

import Foundation
import VigieSockets
import Testing
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

@Suite("Inbound SPF and DKIM (real Postfix, real nsd, real daemon)", .serialized)
struct InboundAuthTests {
    /// In the SPF record of example.test ("v=spf1 ip4:192.0.2.0/24 -all") and of
    /// pass.spf.test; not in fail.spf.test's ("v=spf1 ip4:198.51.100.1 -all").
    static let clientIP = "192.0.2.1"

    @Test("delivered mail carries our Authentication-Results (spf=pass, dkim=pass) and Received-SPF; a forged A-R is gone")
    func resultsAreReportedAndForgeryRemoved() throws {
        let setup = try InboundSetup()
        // dkimpy-signed, with a forged A-R claiming our authserv-id and one from another host.
        let message = try InboundSetup.fixture("forged-ar.eml")
        let client = try setup.postfix.smtpClient()
        defer { _ = try? client.quit() }
        try setup.presentInternetClient(client)
        let mail = try client.mailFrom("alice@example.test")
        #expect(mail.code == 250, "\(mail)")
        let rcpt = try client.rcptTo("alice@vigie.test")
        #expect(rcpt.code == 250, "\(rcpt)")
        let end = try client.data(message)
        try #require(end.code == 250, "\(end)\n\(setup.diagnostics())")

        let delivered = try setup.postfix.waitForMail(to: "alice@vigie.test", containing: "Quarterly figures", timeout: 30)
        let header = delivered.components(separatedBy: "\n\n").first ?? delivered
        let ours = InboundSetup.fields(named: "Authentication-Results", in: header)
            .filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("mx.vigie.test") }
        try #require(ours.count == 1, "exactly one A-R of ours expected:\n\(header)\n\(setup.diagnostics())")
        #expect(ours[0].contains("spf=pass"), "\(ours[0])")
        #expect(ours[0].contains("smtp.mailfrom=alice@example.test"), "\(ours[0])")
        #expect(ours[0].contains("dkim=pass"), "\(ours[0])")
        #expect(ours[0].contains("header.d=example.test"), "\(ours[0])")
        #expect(ours[0].contains("header.s=sel1"), "\(ours[0])")
        // DKIM aligned with From: alice@example.test (_dmarc.example.test: p=reject).
        #expect(ours[0].contains("dmarc=pass (p=reject sp=reject) header.from=example.test"), "\(ours[0])")
        // The forgery claimed "dkim=pass header.d=bank.test": it must be gone.
        #expect(!header.contains("bank.test"), "forged Authentication-Results still there:\n\(header)")
        // Another host's A-R is not ours to remove.
        #expect(header.contains("relay.elsewhere.test"), "\(header)")
        let receivedSPF = InboundSetup.fields(named: "Received-SPF", in: header)
        #expect(receivedSPF.count == 1 && receivedSPF[0].contains("pass"), "\(receivedSPF)")
        // Ours is above Postfix's Received.
        let arIndex = header.range(of: "Authentication-Results: mx.vigie.test")?.lowerBound
        let receivedIndex = header.range(of: "\nReceived:")?.lowerBound
        if let arIndex, let receivedIndex { #expect(arIndex < receivedIndex, "\(header)") }
        // One log line with the queue id and the results.
        let log = setup.log()
        let line = log.split(separator: "\n").first { $0.contains("inbound: checked") }
        #expect(line?.contains("pass") == true, "\(log)")
        // The role's own metrics endpoint counts the results, with bounded labels.
        let metrics = try scrapeMetrics(port: setup.metricsPort)
        #expect(metricValue("vigie_auth_results_total{check=\"spf\",result=\"pass\"}", in: metrics) == 1, "\(metrics)")
        #expect(metricValue("vigie_auth_results_total{check=\"dkim\",result=\"pass\"}", in: metrics) == 1)
        #expect(metricValue("vigie_inbound_checked_total", in: metrics) == 1)
        #expect(metricValue("vigie_auth_results_total{check=\"dmarc\",result=\"pass\"}", in: metrics) == 1, "\(metrics)")
        #expect(line?.contains("dmarc=pass:example.test") == true, "\(log)")
        #expect((metricValue("vigie_dns_queries_total", in: metrics) ?? 0) >= 1)
        #expect((metricValue("vigie_dns_seconds_count", in: metrics) ?? 0) >= 1)
        // libopendkim's key decoding went through the decoded-key cache: the one key
        // decoded once and held.
        #expect(log.contains("dkim_key_cache=on"), "\(log)")
        #expect(metricValue("vigie_dkim_key_cache_total{outcome=\"miss\"}", in: metrics) == 1, "\(metrics)")
        #expect(metricValue("vigie_dkim_key_cache_entries", in: metrics) == 1)
    }

    @Test("SPF fail is refused at MAIL with 550 5.7.23 when spf_fail = \"reject\"")
    func spfFailIsRefused() throws {
        let setup = try InboundSetup()
        let client = try setup.postfix.smtpClient()
        defer { _ = try? client.quit() }
        try setup.presentInternetClient(client)
        let mail = try client.mailFrom("bob@fail.spf.test")
        let rcpt = mail.code == 250 ? try client.rcptTo("alice@vigie.test") : mail
        // Postfix passes the milter's MAIL verdict on at MAIL (or, with
        // smtpd_delay_reject, at the following command).
        let refusal = mail.code == 250 ? rcpt : mail
        #expect(refusal.code == 550, "\(mail) / \(rcpt)\n\(setup.diagnostics())")
        #expect(refusal.enhancedCode == "5.7.23", "\(refusal)")
        #expect(refusal.text.contains("fail.spf.test"), "\(refusal)")
    }

    @Test("a member (XCLIENT LOGIN) skips the inbound checks")
    func membersSkipTheChecks() throws {
        let setup = try InboundSetup()
        let client = try setup.postfix.smtpClient()
        defer { _ = try? client.quit() }
        try setup.presentInternetClient(client, login: "alice")
        // From an SPF-fail domain: refused if checked, delivered untagged if skipped.
        let mail = try client.mailFrom("alice@fail.spf.test")
        #expect(mail.code == 250, "\(mail)\n\(setup.diagnostics())")
        let rcpt = try client.rcptTo("bob@vigie.test")
        #expect(rcpt.code == 250, "\(rcpt)")
        let end = try client.data(SMTPClient.makeMessage(from: "alice@fail.spf.test", to: ["bob@vigie.test"],
                                                         subject: "member mail", body: "Hello.\n"))
        try #require(end.code == 250, "\(end)\n\(setup.diagnostics())")
        let delivered = try setup.postfix.waitForMail(to: "bob@vigie.test", containing: "member mail", timeout: 30)
        #expect(!delivered.contains("mx.vigie.test;"), "a member's mail was tagged:\n\(delivered)")
        #expect(!delivered.contains("Received-SPF"), "\(delivered)")
    }
}

/// DMARC end to end: a p=reject or p=quarantine From domain (fixtures/auth/zones/
/// test.zone) on mail whose SPF passes for another domain and that has no DKIM
/// signature, so nothing aligns.
@Suite("Inbound DMARC (real Postfix, real nsd, real daemon)", .serialized)
struct InboundDMARCTests {
    /// MAIL FROM passes SPF (pass.spf.test allows 192.0.2.0/24) but is not aligned
    /// with the From domain.
    func send(_ setup: InboundSetup, from author: String, subject: String) throws -> SMTPResponse {
        let client = try setup.postfix.smtpClient()
        defer { _ = try? client.quit() }
        try setup.presentInternetClient(client)
        let mail = try client.mailFrom("bounces@pass.spf.test")
        try #require(mail.code == 250, "\(mail)\n\(setup.diagnostics())")
        let rcpt = try client.rcptTo("alice@vigie.test")
        try #require(rcpt.code == 250, "\(rcpt)")
        return try client.data(SMTPClient.makeMessage(from: author, to: ["alice@vigie.test"], subject: subject, body: "Hello.\n"))
    }

    @Test("by default a p=reject failure is only tagged: delivered with dmarc=fail")
    func tagOnlyByDefault() throws {
        let setup = try InboundSetup()
        let end = try send(setup, from: "ceo@reject.dmarc.test", subject: "tagged only")
        try #require(end.code == 250, "\(end)\n\(setup.diagnostics())")
        let delivered = try setup.postfix.waitForMail(to: "alice@vigie.test", containing: "tagged only", timeout: 30)
        let header = delivered.components(separatedBy: "\n\n").first ?? delivered
        let ours = InboundSetup.fields(named: "Authentication-Results", in: header)
        #expect(ours.contains { $0.contains("dmarc=fail (p=reject sp=reject) header.from=reject.dmarc.test") }, "\(header)")
        let metrics = try scrapeMetrics(port: setup.metricsPort)
        #expect(metricValue("vigie_auth_results_total{check=\"dmarc\",result=\"fail\"}", in: metrics) == 1, "\(metrics)")
        #expect(metricValue("vigie_inbound_dmarc_actions_total{action=\"tag\"}", in: metrics) == 1, "\(metrics)")
        #expect(metricValue("vigie_inbound_dmarc_actions_total{action=\"reject\"}", in: metrics) == 0, "\(metrics)")
    }

    @Test("dmarc_reject = \"reject\": a p=reject failure is refused at end of data with 550 5.7.1, French then English")
    func rejectIsRefused() throws {
        let setup = try InboundSetup(extraInbound: ["dmarc_reject = \"reject\""])
        let end = try send(setup, from: "ceo@reject.dmarc.test", subject: "refused")
        #expect(end.code == 550, "\(end)\n\(setup.diagnostics())")
        #expect(end.enhancedCode == "5.7.1", "\(end)")
        #expect(end.lines.count == 2 && end.lines[0].contains("refusé") && end.lines[1].contains("refused"), "\(end)")
        #expect(end.text.contains("reject.dmarc.test"), "\(end)")
        // A subdomain without a record of its own gets dmarc.test's sp=reject.
        let sub = try send(setup, from: "news@letters.dmarc.test", subject: "refused too")
        #expect(sub.code == 550, "\(sub)\n\(setup.diagnostics())")
        let log = setup.log()
        #expect(log.contains("inbound: refused at end of message"), "\(log)")
        #expect(log.contains("dmarc_action=reject"), "\(log)")
        let metrics = try scrapeMetrics(port: setup.metricsPort)
        #expect(metricValue("vigie_inbound_dmarc_actions_total{action=\"reject\"}", in: metrics) == 2, "\(metrics)")
        #expect(try setup.postfix.queue().isEmpty, "a refused message is in the queue")
    }

    @Test("dmarc_quarantine = \"hold\": a p=quarantine failure goes to the hold queue, tagged")
    func quarantineIsHeld() throws {
        let setup = try InboundSetup(extraInbound: ["dmarc_quarantine = \"hold\"", "dmarc_reject = \"reject\""])
        let end = try send(setup, from: "info@quarantine.dmarc.test", subject: "held for review")
        try #require(end.code == 250, "\(end)\n\(setup.diagnostics())")
        let held = try setup.postfix.waitForQueueEntry(timeout: 15) { $0.isHeld }
        let queued = try setup.postfix.queuedMessage(held.queueID)
        #expect(queued.contains("dmarc=fail (p=quarantine sp=quarantine) header.from=quarantine.dmarc.test"), "\(queued)")
        #expect(setup.postfix.mailbox(for: "alice@vigie.test").isEmpty, "a held message was delivered")
        let log = setup.log()
        #expect(log.contains("dmarc_action=hold") && log.contains("held=true"), "\(log)")
        // pct=0 on a p=reject domain: never refused, handled as quarantine (held).
        let sampled = try send(setup, from: "info@sampled.dmarc.test", subject: "sampled out")
        #expect(sampled.code == 250, "\(sampled)\n\(setup.diagnostics())")
        try setup.postfix.waitForQueue(timeout: 15) { $0.filter(\.isHeld).count == 2 }
        let metrics = try scrapeMetrics(port: setup.metricsPort)
        #expect(metricValue("vigie_inbound_dmarc_actions_total{action=\"hold\"}", in: metrics) == 2, "\(metrics)")
    }
}

/// nsd with the auth fixtures, a private Postfix, and `vigie --role inbound`.
final class InboundSetup {
    let directory: String
    let postfix: PostfixInstance
    private let daemon: LaunchedProcess
    let metricsPort: Int

    static var fixtures: String { Binaries.packageRoot + "/fixtures/auth" }

    static func fixture(_ name: String) throws -> String {
        try String(contentsOfFile: "\(fixtures)/messages/\(name)", encoding: .utf8)
    }

    /// - Parameter extraInbound: more `[inbound]` lines (DMARC actions).
    init(extraInbound: [String] = []) throws {
        try #require(geteuid() == 0, "end-to-end tests run a private Postfix and need root (use scripts/test)")
        let nameserver = try InboundNameserver.address()
        directory = try TestDirectory.make(prefix: "vigie-inbound-")
        let socket = "unix:\(directory)/milter/inbound.sock"
        postfix = try PostfixInstance(milters: socket, extraMainCF: ["milter_default_action": "tempfail"])
        metricsPort = try LoopbackPort.free()
        let config = """
        \(daemonSection(directory: directory, socket: nil))
        [notices]
        directory = "\(Binaries.packageRoot)/conf/notices"
        contact = "postmaster@vigie.test"
        [logging]
        destination = "stderr"
        [metrics]
        listen = ""
        [inbound]
        socket = "\(socket)"
        authserv_id = "mx.vigie.test"
        nameservers = ["\(nameserver)"]
        dns_timeout = "5s"
        spf_fail = "reject"
        received_spf = true
        metrics_listen = "127.0.0.1:\(metricsPort)"
        \(extraInbound.joined(separator: "\n"))
        """
        try config.write(toFile: directory + "/vigie.toml", atomically: true, encoding: .utf8)
        daemon = try LaunchedProcess(Binaries.vigie, ["--config", directory + "/vigie.toml", "--role", "inbound"],
                                     outputPath: directory + "/vigie.log")
        _ = try daemon.waitForOutput(containing: "started", timeout: 20)
        try postfix.start()
    }

    /// EHLO, then XCLIENT to look like an internet client (and a member with `login`).
    func presentInternetClient(_ client: SMTPClient, login: String? = nil) throws {
        try client.ehlo("mail.example.test")
        var attributes = [("ADDR", InboundAuthTests.clientIP), ("NAME", "mail.example.test"), ("HELO", "mail.example.test")]
        if let login { attributes.append(("LOGIN", login)) }
        let reply = try client.xclient(attributes: attributes)
        try #require(reply.code == 220, "XCLIENT: \(reply)")
    }

    func log() -> String { (try? String(contentsOfFile: directory + "/vigie.log", encoding: .utf8)) ?? "" }

    func diagnostics() -> String { "--- vigie ---\n\(log())\n\(postfix.diagnostics())" }

    /// Unfolded values of the header fields named `name`.
    static func fields(named name: String, in header: String) -> [String] {
        var fields: [String] = []
        for line in header.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.first == " " || line.first == "\t", !fields.isEmpty { fields[fields.count - 1] += " " + line.trimmingCharacters(in: .whitespaces) }
            else { fields.append(String(line)) }
        }
        let prefix = name.lowercased() + ":"
        return fields.filter { $0.lowercased().hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    deinit {
        _ = daemon.stop(grace: 5)
        postfix.stop()
        if !TestDirectory.keepRequested { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// nsd serving fixtures/auth/zones/test.zone on a free loopback port, once per test
/// process (VigieTestKit's FixtureNameserver, shared with the VigieAuth tests).
enum InboundNameserver {
    static func address() throws -> String {
        try FixtureNameserver.address(zone: "test", zoneFile: "\(InboundSetup.fixtures)/zones/test.zone") { address in
            nsdAnswers(address)
        }
    }

    /// Whether a DNS query for ns.test gets an answer (a minimal UDP query).
    private static func nsdAnswers(_ address: String) -> Bool {
        guard let server = try? SocketAddress.parse(address).get(),
              let socket = try? DatagramSocket(to: server, sourcePort: { UInt16.random(in: 1024 ... .max) }) else { return false }
        // Header (id 0x1234, RD), one question: ns.test A IN.
        let query: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                              2, 0x6e, 0x73, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 1, 0, 1]
        guard (try? socket.send(query)) != nil,
              let answer = try? socket.receive(maximumBytes: 512, deadline: .now + .milliseconds(300)).bytes else { return false }
        // An answer with our id and NOERROR.
        return answer.count >= 12 && answer[0] == 0x12 && answer[1] == 0x34 && answer[3] & 0x0F == 0
    }
}
