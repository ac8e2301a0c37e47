// End to end with real SASL: members log in with AUTH PLAIN on a submission smtpd of
// the private Postfix, which asks a private Dovecot (smtpd_sasl_type = dovecot,
// passwd-file users) and hands the login Dovecot returns to Vigie as {auth_authen}.
// The other end-to-end tests stand in for SASL with XCLIENT LOGIN; these show the
// same limits, locks and account names hold for a login that went through Dovecot.

import Foundation
import Testing
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

@Suite("Real SASL logins through Dovecot (real Postfix)", .serialized)
struct DovecotSASLTests {
    static let password = "correct horse battery staple"

    /// camille and mallory, with `auth_username_format = %Ln`: "Camille" and
    /// "camille@vigie.test" both log in as camille.
    static func makeDovecot() throws -> DovecotInstance {
        try DovecotInstance(users: ["camille": password, "mallory": password])
    }

    @Test("AUTH PLAIN over the submission port: over the per-minute limit a member reads the 450 4.7.1 notice, French first")
    func limitNoticeAfterRealLogin() throws {
        let vigie = try VigieUnderTest(dovecot: try Self.makeDovecot())
        var queueIDs: [String] = []
        for number in 1...3 {
            let result = try vigie.submit(as: "camille", password: Self.password, subject: "message \(number)")
            #expect(result.auth?.code == 235, "Dovecot took the login: \(result)")
            #expect(result.accepted, "message \(number) fits the limit: \(result)")
            if let id = result.queueID { queueIDs.append(id) }
        }
        let refused = try vigie.submit(as: "camille", password: Self.password, subject: "message 4")
        #expect(refused.auth?.code == 235)
        #expect(!refused.accepted)
        let reply = try #require(refused.rcptTo("friend@example.net"), "\(refused)")
        #expect(reply.code == 450, "\(refused)")
        #expect(reply.enhancedCode == "4.7.1")
        #expect(reply.lines.count >= 4, "multi-line notice expected: \(reply)")
        let text = reply.text
        #expect(text.contains("camille") && text.contains("3") && text.contains("postmaster@vigie.test"), "\(text)")
        #expect(text.contains("d’envoi"), "French accents and apostrophes reach the client intact: \(text)")
        let french = try #require(text.range(of: "minute"))
        let english = try #require(text.range(of: "Sending limit", options: .caseInsensitive), "\(text)")
        #expect(french.lowerBound < english.lowerBound, "French first: \(text)")

        // It was SASL, not XCLIENT: Postfix logged the PLAIN login for each message,
        // and Vigie counted them for camille.
        #expect(queueIDs.count == 3)
        for id in queueIDs {
            try vigie.postfix.waitForLog(containing: "\(id): client=localhost[127.0.0.1], sasl_method=PLAIN, sasl_username=camille")
        }
        let log = vigie.log()
        for id in queueIDs {
            #expect(log.contains("]: \(id): accepted account=camille path=smtp recipients=1\n"), "\(log)")
        }
        // The refusal line is written when the transaction ends (at QUIT), which may
        // come after the client has read the 450: wait for it rather than read once.
        _ = try vigie.daemon?.waitForOutput(containing: "]: NOQUEUE: refused: over limit accepted_recipients=0"
            + " account=camille count=3 first_recipient=friend@example.net limit=messages/minute max=3 path=smtp refused_recipients=1\n")
    }

    @Test("Camille and camille@vigie.test log in as camille and share one Vigie account: 3 + 1 messages hit 3/minute")
    func loginVariantsShareOneAccount() throws {
        let dovecot = try Self.makeDovecot()
        let vigie = try VigieUnderTest(dovecot: dovecot)
        var queueIDs: [String] = []
        for number in 1...3 {
            let result = try vigie.submit(as: "Camille", password: Self.password, subject: "Camille \(number)")
            #expect(result.accepted, "\(result)")
            if let id = result.queueID { queueIDs.append(id) }
        }
        let fourth = try vigie.submit(as: "camille@vigie.test", password: Self.password, subject: "with the domain")
        #expect(fourth.auth?.code == 235, "Dovecot maps camille@vigie.test to camille: \(fourth)")
        #expect(fourth.rcptTo("friend@example.net")?.code == 450, "the fourth message of the same account in a minute: \(fourth)")

        // Dovecot answered with the mapped name, so Postfix (and {auth_authen}) saw
        // "camille" whatever the member typed.
        #expect(queueIDs.count == 3)
        for id in queueIDs {
            let line = try vigie.postfix.waitForLog(containing: "\(id): client=")
            #expect(line.contains("sasl_username=camille") && !line.contains("Camille"), "\(line)")
        }
        #expect(!dovecot.logLines(containing: "Camille").contains { $0.contains("failed") || $0.contains("unknown") },
                "\(dovecot.diagnostics())")
        let show = try vigie.ctl("show", "camille", "--json")
        #expect(show.succeeded, "\(show)")
        #expect(show.stdout.contains("\"used\" : 3"), "\(show.stdout)")
        let variant = try vigie.ctl("show", "Camille", "--json")
        #expect(variant.stdout.contains("\"account\" : \"camille\"") && variant.stdout.contains("\"used\" : 3"),
                "one account, whatever the case of the name: \(variant)")
    }

    @Test("a wrong password is refused by Postfix with 535 and never reaches Vigie's counters")
    func wrongPasswordNeverCounted() throws {
        let dovecot = try Self.makeDovecot()
        let vigie = try VigieUnderTest(dovecot: dovecot)
        let first = try vigie.submit(as: "camille", password: Self.password, subject: "before")
        #expect(first.accepted, "\(first)")

        let port = try #require(vigie.submissionPort)
        for attempt in 1...4 {
            let client = try SMTPClient(port: port)
            defer { client.close() }
            try client.ehlo()
            #expect(client.extensions["AUTH"]?.contains("PLAIN") == true, "the submission smtpd offers AUTH PLAIN: \(client.transcript)")
            let login = attempt == 4 ? "nobody" : "camille"
            let auth = try client.authPlain(username: login, password: "wrong password \(attempt)")
            #expect(auth.code == 535, "\(client.transcript)")
            #expect(auth.enhancedCode == "5.7.8", "\(auth)")
            // A client that goes on anyway is a stranger to Postfix's submission
            // service: refused before any milter is asked.
            let result = try client.send(from: "camille@vigie.test", to: ["friend@example.net"], body: "Test message.\n")
            #expect(!result.accepted, "\(result)")
            let refusal = try #require(result.refusal, "\(result)")
            #expect(refusal.stage == .rcptTo && refusal.response.code == 554, "\(result)")
            #expect(refusal.response.text.contains("Client host rejected"), "Postfix's own refusal, not a Vigie notice: \(result)")
            _ = try? client.quit()
        }
        try vigie.postfix.waitForLog(containing: "SASL PLAIN authentication failed")
        #expect(dovecot.logLines(containing: "Password mismatch").count == 3, "\(dovecot.diagnostics())")

        // Vigie saw one message: the failed logins neither counted against the limit
        // nor as refusals in a row (three of those would have locked camille).
        let show = try vigie.ctl("show", "camille", "--json")
        #expect(show.stdout.contains("\"used\" : 1"), "\(show.stdout)")
        #expect(!show.stdout.contains("LOCKED") && !show.stdout.contains("\"action\" : \"lock\""), "\(show.stdout)")
        let metrics = try vigie.scrapeMetrics()
        #expect(vigie.metric("vigie_messages_total{verdict=\"accepted\"}", in: metrics) == 1, "\(metrics)")
        #expect(!vigie.log().contains("refused"), "\(vigie.log())")
        for number in 2...3 {
            #expect(try vigie.submit(as: "camille", password: Self.password, subject: "after \(number)").accepted)
        }
        let overLimit = try vigie.submit(as: "camille", password: Self.password, subject: "fourth")
        #expect(overLimit.rcptTo("friend@example.net")?.code == 450, "the limit counts exactly the three real messages: \(overLimit)")
    }

    @Test("a burst after a real login is locked (held, 550 for every login variant), and vigiectl unlock lets mail flow")
    func burstLockAndUnlockAfterRealLogin() throws {
        let vigie = try VigieUnderTest(notify: false, dovecot: try Self.makeDovecot())
        var accepted: [String] = []
        var trippedQueueID: String?
        // A script with the stolen password keeps going whatever the answer.
        for number in 1...10 {
            let result = try vigie.submit(as: "mallory", password: Self.password, subject: "spam \(number)")
            #expect(result.auth?.code == 235, "\(result)")
            if result.accepted {
                if accepted.count < 3 { accepted.append(try #require(result.queueID)) } else { trippedQueueID = result.queueID; break }
            }
        }
        #expect(accepted.count == 3, "three messages fit the per-minute limit")
        let held = try #require(trippedQueueID, "the third refusal in a row trips the lock; that message is taken in to be held")
        try vigie.postfix.waitForQueue(timeout: 10) { queue in queue.contains { $0.queueID == held && $0.isHeld } }

        for login in ["mallory", "Mallory", "MALLORY@vigie.test"] {
            let after = try vigie.submit(as: login, password: Self.password, subject: "after the lock")
            #expect(after.auth?.code == 235, "the password still works; Vigie is what stops it: \(after)")
            let refusal = try #require(after.recipients.first?.response, "\(after)")
            #expect(refusal.code == 550 && refusal.enhancedCode == "5.7.1", "\(login): \(after)")
            #expect(refusal.text.contains("postmaster@vigie.test"), "\(refusal)")
        }
        let show = try vigie.ctl("show", "mallory")
        #expect(show.stdout.contains("LOCKED"), "\(show)")
        for queueID in accepted + [held] { #expect(show.stdout.contains(queueID), "evidence \(queueID) in \(show.stdout)") }

        let unlock = try vigie.ctl("unlock", "mallory", "--reason", "password changed")
        #expect(unlock.succeeded, "\(unlock)")
        let again = try vigie.submit(as: "Mallory", password: Self.password, subject: "legit again")
        #expect(again.accepted, "\(again)")
        let history = try vigie.ctl("show", "mallory", "--json")
        #expect(history.stdout.contains("\"action\" : \"unlock\"") && history.stdout.contains("password changed"), "\(history.stdout)")
    }
}

@Suite("The private Dovecot and AUTH PLAIN in the harness")
struct DovecotHarnessTests {
    @Test("the auth socket answers Postfix's handshake; stop leaves no process and no directory")
    func startAndStop() throws {
        try #require(geteuid() == 0, "a private Dovecot needs root (use scripts/test)")
        let dovecot = try DovecotInstance(users: ["camille": "secret"])
        try dovecot.start()
        #expect(dovecot.isRunning)
        #expect(!dovecot.livingProcesses().isEmpty)
        let socket = try FileManager.default.attributesOfItem(atPath: dovecot.authSocketPath)
        #expect(socket[.ownerAccountName] as? String == "postfix", "the unprivileged smtpd must reach it: \(socket)")
        #expect((socket[.posixPermissions] as? NSNumber)?.intValue == 0o660)
        #expect(try String(contentsOfFile: dovecot.configPath, encoding: .utf8).contains("auth_username_format = %Ln"))
        dovecot.stop()
        #expect(!dovecot.isRunning)
        #expect(dovecot.livingProcesses().isEmpty, "\(dovecot.livingProcesses())")
        #expect(!FileManager.default.fileExists(atPath: dovecot.rootDirectory) || TestDirectory.keepRequested)
    }

    @Test("without Dovecot installed, the error names the Debian package")
    func missingDovecotNamesThePackage() throws {
        do {
            _ = try DovecotInstance(users: ["camille": "secret"], command: "/nonexistent/sbin/dovecot")
            Issue.record("a missing dovecot binary must be refused")
        } catch let error as HarnessError {
            #expect(error.message.contains("dovecot-core") && error.message.contains("/nonexistent/sbin/dovecot"), "\(error)")
        }
    }

    @Test("AUTH PLAIN's initial response is RFC 4616's: base64 of authzid NUL authcid NUL password")
    func plainResponseEncoding() {
        // The two examples of RFC 4616, section 4, base64-encoded.
        #expect(SMTPCredentials(username: "tim", password: "tanstaaftanstaaf").plainResponse == "AHRpbQB0YW5zdGFhZnRhbnN0YWFm")
        #expect(SMTPCredentials(username: "Kurt", password: "xipj3plmq", authorizationIdentity: "Ursel").plainResponse
                == "VXJzZWwAS3VydAB4aXBqM3BsbXE=")
    }
}
