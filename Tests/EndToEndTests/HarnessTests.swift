// Proves the end-to-end harness (VigieTestKit) against a real private Postfix with no
// milter: SMTP delivery, XCLIENT, local sendmail, the queue, clean shutdown, and the
// process and SMTP client helpers on their own.

import Foundation
import Testing
import VigieTestKit

#if canImport(Glibc)
import Glibc
#endif

@Suite("Test harness against a private Postfix", .serialized)
struct HarnessTests {
    @Test("SMTP mail to a local address gets 250 and lands in the Maildir")
    func smtpDeliveryToLocalMailbox() throws {
        let postfix = try PostfixInstance()
        defer { postfix.stop() }
        try postfix.start()

        let client = try postfix.smtpClient()
        defer { client.close() }
        #expect(client.greeting.code == 220)
        let ehlo = try client.ehlo("client.example.org")
        #expect(ehlo.code == 250)
        #expect(ehlo.lines.count > 3, "EHLO reply should be multi-line: \(ehlo)")
        #expect(client.extensions["XCLIENT"]?.contains("LOGIN") == true)
        #expect(client.extensions["ENHANCEDSTATUSCODES"] != nil)

        let body = "First line.\n.leading dot survives dot-stuffing\n..two dots\nLast line.\n"
        let result = try client.send(
            from: "bob@example.org", to: ["alice@vigie.test"], subject: "harness smtp", body: body)
        #expect(result.accepted, "\(result)")
        #expect(result.mailFrom?.enhancedCode == "2.1.0")
        #expect(result.rcptTo("alice@vigie.test")?.code == 250)
        #expect(result.dataCommand?.code == 354)
        #expect(result.refusedStage == nil)
        let queueID = try #require(result.queueID, "\(result)")
        #expect(try client.quit().code == 221)

        let message = try postfix.waitForMail(to: "alice@vigie.test", containing: "harness smtp")
        #expect(message.contains("Delivered-To: alice@vigie.test"))
        #expect(message.contains("\n.leading dot survives dot-stuffing\n"))
        #expect(message.contains("\n..two dots\n"))
        #expect(message.contains("id \(queueID)"))
        try postfix.waitForLog(containing: "\(queueID): to=<alice@vigie.test>, relay=virtual")
        #expect(postfix.mailbox(for: "bob@vigie.test").isEmpty)
    }

    @Test("XCLIENT LOGIN and ADDR change what Postfix sees; refusals name their stage")
    func xclient() throws {
        let postfix = try PostfixInstance()
        defer { postfix.stop() }
        try postfix.start()

        // LOGIN: Postfix logs the message as SASL-authenticated.
        let viaLogin = try postfix.sendSMTP(
            from: "alice@vigie.test", to: ["bob@vigie.test"], subject: "as alice", login: "alice")
        #expect(viaLogin.xclient?.code == 220, "\(viaLogin)")
        #expect(viaLogin.ehloAfterXCLIENT?.code == 250)
        let loginID = try #require(viaLogin.queueID, "\(viaLogin)")
        let line = try postfix.waitForLog(containing: "\(loginID): client=")
        #expect(line.contains("sasl_method=XCLIENT, sasl_username=alice"), "\(line)")
        try postfix.waitForMail(to: "bob@vigie.test", containing: "as alice")

        // ADDR/NAME/HELO: a remote client, logged as such.
        let client = try postfix.smtpClient()
        defer { client.close() }
        try client.ehlo()
        let reply = try client.xclient(attributes: [
            "ADDR": "192.0.2.10", "NAME": "[UNAVAILABLE]", "HELO": "mx.example.org",
        ])
        #expect(reply.code == 220, "\(reply)")
        #expect(client.ehloResponse?.code == 250)
        let inbound = try client.send(
            from: "someone@example.org", to: ["carol@vigie.test"], subject: "from outside", body: "hi\n")
        let inboundID = try #require(inbound.queueID, "\(inbound)")
        let inboundLine = try postfix.waitForLog(containing: "\(inboundID): client=")
        #expect(inboundLine.contains("client=unknown[192.0.2.10]"), "\(inboundLine)")

        // That remote client may not relay: RCPT is the stage that refuses (4.7.1).
        let relay = try client.send(
            from: "someone@example.org", to: ["victim@example.com"], subject: "relay", body: "no\n")
        #expect(relay.refusedStage == .rcptTo, "\(relay)")
        #expect(relay.refusal?.response.code == 454)
        #expect(relay.refusal?.response.enhancedCode == "4.7.1")
        #expect(relay.refusal?.response.text.contains("Relay access denied") == true)
        #expect(relay.dataCommand == nil)

        // A bad MAIL FROM is refused at MAIL, and the connection stays usable.
        let badSender = try client.send(from: "not an address@@", to: ["carol@vigie.test"], message: "x\n")
        #expect(badSender.refusedStage == .mailFrom, "\(badSender)")
        #expect(badSender.recipients.isEmpty)
        #expect(try client.noop().code == 250)
        #expect(try client.quit().code == 221)
    }

    @Test("local sendmail submission is picked up and delivered")
    func localSendmail() throws {
        let postfix = try PostfixInstance()
        defer { postfix.stop() }
        try postfix.start()

        let submitted = try postfix.sendmail(
            from: "root@vigie.test", to: "alice@vigie.test",
            body: "Subject: via sendmail\n\nline one\n.\nafter a lone dot\n")
        #expect(submitted.succeeded, "\(submitted)")
        let message = try postfix.waitForMail(to: "alice@vigie.test", containing: "via sendmail", timeout: 15)
        #expect(message.contains("after a lone dot"), "sendmail -i keeps lines with a lone dot")
        #expect(message.contains("Return-Path: <root@vigie.test>"))
        try postfix.waitForLog(containing: "uid=0 from=<root@vigie.test>")

        // An address without its own Maildir lands in the catch-all, found by Delivered-To.
        try postfix.sendmail(from: "root@vigie.test", to: "zed@vigie.test", body: "Subject: to zed\n\nhello\n")
        try postfix.waitForMail(to: "zed@vigie.test", containing: "to zed")
        #expect(postfix.mailbox(for: "alice@vigie.test").count == 1)
    }

    @Test("mail to another domain stays in the queue, even after a flush")
    func outsideMailIsQueued() throws {
        let postfix = try PostfixInstance()
        defer { postfix.stop() }
        try postfix.start()

        let result = try postfix.sendSMTP(
            from: "alice@vigie.test", to: ["carol@example.com", "alice@vigie.test"], subject: "mixed")
        let queueID = try #require(result.queueID, "\(result)")
        let entry = try postfix.waitForQueueEntry { $0.queueID == queueID && $0.queueName == "deferred" }
        #expect(entry.sender == "alice@vigie.test")
        #expect(entry.recipientAddresses == ["carol@example.com"], "the local copy is delivered")
        #expect(entry.recipients.first?.delayReason == "deferred transport")
        try postfix.waitForMail(to: "alice@vigie.test", containing: "mixed")
        #expect(try postfix.heldQueueIDs().isEmpty)
        #expect(try postfix.queuedMessage(queueID).contains("Subject: mixed"))

        try postfix.flushQueue()
        try postfix.waitForLog(containing: "\(queueID): to=<carol@example.com>, relay=none")
        #expect(try postfix.queue().map(\.queueID) == [queueID])

        // Hold and release through postsuper.
        try postfix.postsuper("-h", queueID)
        #expect(try postfix.heldQueueIDs() == [queueID])
        try postfix.postsuper("-H", queueID)
        #expect(try postfix.heldQueueIDs().isEmpty)
    }

    @Test("stop() leaves no Postfix process and no directory")
    func stopCleansUp() throws {
        let postfix = try PostfixInstance()
        try postfix.start()
        let master = try #require(postfix.masterPID)
        #expect(postfix.livingProcesses().contains(master))
        #expect(FileManager.default.fileExists(atPath: postfix.configDirectory + "/main.cf"))
        let port = postfix.smtpPort

        postfix.stop()
        #expect(!postfix.isRunning)
        #expect(postfix.livingProcesses().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: postfix.rootDirectory))
        #expect(throws: SMTPClientError.self) { _ = try SMTPClient(port: port, timeout: 2) }
        postfix.stop()  // idempotent
    }

    @Test("milter settings reach Postfix: an unreachable milter tempfails both paths")
    func unreachableMilter() throws {
        let socket = "unix:/tmp/vigie-harness-no-such-milter.sock"
        let postfix = try PostfixInstance(
            milters: socket, nonSMTPMilters: socket,
            extraMasterCF: ["cleanup/unix/milter_macro_daemon_name": "ORIGINATING"])
        defer { postfix.stop() }
        #expect(try postfix.parameter("smtpd_milters") == socket)
        #expect(try postfix.postconf("-P", "cleanup/unix/milter_macro_daemon_name")
            .contains("= ORIGINATING"))
        try postfix.start()

        // milter_default_action = tempfail: Postfix answers 451 4.7.1, at MAIL FROM.
        let result = try postfix.sendSMTP(from: "alice@vigie.test", to: ["bob@vigie.test"])
        #expect(result.refusedStage == .mailFrom, "\(result)")
        #expect(result.mailFrom?.code == 451)
        #expect(result.mailFrom?.enhancedCode == "4.7.1")

        // Local submission: cleanup cannot reach the milter, the file stays in maildrop.
        try postfix.sendmail(from: "root@vigie.test", to: "bob@vigie.test", body: "Subject: stuck\n\nx\n")
        try postfix.waitForLog(containing: "milter-reject: CONNECT")
        let queue = try postfix.waitForQueue { $0.contains { $0.queueName == "maildrop" } }
        #expect(queue.first?.sender == "root@vigie.test")
        #expect(postfix.mailbox(for: "bob@vigie.test").isEmpty)
    }

    @Test("ProcessRunner and LaunchedProcess")
    func processes() throws {
        let result = try ProcessRunner.run(
            "/bin/sh", ["-c", "cat; echo \"$VIGIE_X\" >&2; exit 3"], environment: ["VIGIE_X": "from env"],
            stdin: "from stdin\n")
        #expect(result.status == 3)
        #expect(result.stdout == "from stdin\n")
        #expect(result.stderr == "from env\n")
        #expect(throws: ProcessRunnerError.self) {
            try ProcessRunner.run("/bin/sleep", ["10"], timeout: 0.3)
        }

        let daemon = try LaunchedProcess("/bin/sh", ["-c", "echo ready; exec sleep 30"])
        try daemon.waitForOutput(containing: "ready", timeout: 5)
        #expect(daemon.isRunning)
        daemon.terminate()
        #expect(daemon.waitForExit(timeout: 5) == 128 + SIGTERM)
        #expect(daemon.terminationSignal == SIGTERM)

        let stubborn = try LaunchedProcess("/bin/sh", ["-c", "trap '' TERM; echo up; while :; do sleep 1; done"])
        try stubborn.waitForOutput(containing: "up", timeout: 5)
        stubborn.terminate()
        #expect(stubborn.waitForExit(timeout: 0.5) == nil)
        stubborn.kill9()
        #expect(stubborn.waitForExit(timeout: 5) == 128 + SIGKILL)
    }

    @Test("SMTPClient times out on a silent server instead of hanging")
    func smtpTimeout() throws {
        let listener = try SilentListener()
        let started = Date()
        #expect(throws: SMTPClientError.self) {
            _ = try SMTPClient(port: listener.port, timeout: 0.5)
        }
        #expect(Date().timeIntervalSince(started) < 5)
    }
}

