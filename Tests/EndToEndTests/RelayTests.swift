// End to end: mail a process on the host hands to smtpd on 127.0.0.1 without a
// login (a compromised web application, incident #005's likely cause), through a
// dedicated relay listener marked with milter_macro_daemon_name=local-relay, as
// conf/postfix/master.cf.relay wires it.

import Foundation
import Testing
import VigieTestKit

@Suite("Relay from the host without a login (real Postfix)", .serialized)
struct RelayTests {
    /// A private Postfix with a second smtpd on loopback, the relay listener, and
    /// the member domain configured so foreign senders and local recipients are known.
    static func relayVigie(extraConfig: String = "") throws -> (VigieUnderTest, relayPort: Int) {
        let relayPort = try LoopbackPort.free()
        let vigie = try VigieUnderTest(
            extraConfig: smallLimits + "\n[identity]\ndomains = [\"vigie.test\"]\n" + extraConfig,
            // conf/postfix/main.cf.relay: only the relay listener relays for mynetworks.
            extraMainCF: ["smtpd_relay_restrictions": "permit_sasl_authenticated, defer_unauth_destination"],
            additionalServices: [
                "127.0.0.1:\(relayPort) inet n - n - - smtpd -o syslog_name=postfix/relay"
                    + " -o milter_macro_daemon_name=local-relay"
                    + " -o smtpd_relay_restrictions=permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination",
            ])
        return (vigie, relayPort)
    }

    static func relay(port: Int, from sender: String, to recipients: [String], subject: String) throws -> SMTPSendResult {
        try SMTPClient.send(port: port, from: sender, to: recipients, subject: subject, body: "Buy now.\n")
    }

    @Test("100 messages relayed from 127.0.0.1 without login: 450 over the limit, then the burst lock")
    func relayIsLimitedThenLocked() throws {
        let (vigie, relayPort) = try Self.relayVigie()
        var results: [SMTPSendResult] = []
        for number in 1...100 {
            results.append(try Self.relay(port: relayPort, from: "www-data@vigie.test",
                                          to: ["victim\(number)@example.net"], subject: "spam \(number)"))
        }
        // Three fit the per-minute limit.
        let firstThree = results.prefix(3).allSatisfy { $0.accepted }
        #expect(firstThree, "\(results.prefix(3))")
        // Then the member-facing notice, temporary: a 450 4.7.1 at RCPT.
        let fourth = try #require(results[3].rcptTo("victim4@example.net"), "\(results[3])")
        #expect(fourth.code == 450, "\(fourth)")
        #expect(fourth.enhancedCode == "4.7.1")
        #expect(fourth.text.contains("www-data"), "\(fourth)")
        // The third refusal in a row trips the lock: that message is taken in and held.
        #expect(!results[4].accepted)
        #expect(results[5].accepted, "the tripping message is taken in to be held: \(results[5])")
        let held = try #require(results[5].queueID)
        try vigie.postfix.waitForQueue(timeout: 10) { queue in queue.contains { $0.queueID == held && $0.isHeld } }
        // Everything after: 550 5.7.1, the lock.
        for result in results.dropFirst(6) {
            #expect(!result.accepted)
            #expect(result.recipients.first?.response.code == 550, "\(result)")
        }
        // Three messages left for the outside, and the held one; nothing else queued.
        let outbound = try vigie.postfix.queue().filter { $0.recipientAddresses.contains { $0.hasSuffix("@example.net") } }
        #expect(outbound.count == 4, "\(outbound)")
        let heldCount = outbound.filter { $0.isHeld }.count
        #expect(heldCount == 1)

        let show = try vigie.ctl("show", "www-data")
        #expect(show.stdout.contains("LOCKED"), "\(show)")
        // Limited and locked, but not scored: the relay path teaches the history nothing.
        let json = try vigie.ctl("show", "www-data", "--json").stdout
        #expect(json.contains("\"messages\" : 0"), "\(json)")
        let log = vigie.log()
        #expect(log.contains("accepted account=www-data path=relay recipients=1\n"), "\(log)")
        #expect(log.contains("quarantined: message tripped the burst lock"))
        // One refusal line per refused message (96 of them), none per recipient.
        _ = try vigie.daemon?.waitForOutput(containing: "victim100@example.net")
        Thread.sleep(forTimeInterval: 0.3)
        let refusals = vigie.log().split(separator: "\n").filter { $0.contains(": refused: ") }
        #expect(refusals.count == 96, "\(refusals.count) refusal lines")
        let oneEach = refusals.allSatisfy { $0.contains("path=relay") && $0.contains("refused_recipients=1") }
        #expect(oneEach, "\(refusals.prefix(3))")
    }

    @Test("internet mail to members is never counted; relayed mail to members is not; a foreign sender shares relay:foreign")
    func inboundAndLocalRecipientsAreNotCounted() throws {
        // Room in the whole flow for the senders below: each one's own limit is what is tested here.
        let (vigie, relayPort) = try Self.relayVigie(extraConfig: "[accounts.\"relay:all\".messages]\nper_minute = 10\n")
        // Unauthenticated mail on the ordinary listener (port 25's place): inbound.
        for number in 1...10 {
            let inbound = try vigie.postfix.sendSMTP(from: "www-data@vigie.test", to: ["alice@vigie.test"],
                                                     subject: "inbound \(number)")
            #expect(inbound.accepted, "\(inbound)")
        }
        // With main.cf.relay, the ordinary listener no longer relays without a login:
        // the relay listener is the only way out, and Vigie watches it.
        let around = try vigie.postfix.sendSMTP(from: "www-data@vigie.test", to: ["friend@example.net"], subject: "around")
        #expect(!around.accepted, "\(around)")
        #expect(around.rcptTo("friend@example.net")?.code == 454 || around.rcptTo("friend@example.net")?.code == 450,
                "\(around)")
        // Relayed from the host to a member: stays here, not counted.
        for number in 1...10 {
            let local = try Self.relay(port: relayPort, from: "www-data@vigie.test", to: ["alice@vigie.test"],
                                       subject: "contact form \(number)")
            #expect(local.accepted, "\(local)")
        }
        // The account's budget is intact: three out, the fourth over the limit.
        for number in 1...3 {
            #expect(try Self.relay(port: relayPort, from: "www-data@vigie.test", to: ["friend@example.net"],
                                   subject: "out \(number)").accepted)
        }
        let fourth = try Self.relay(port: relayPort, from: "www-data@vigie.test", to: ["friend@example.net"], subject: "out 4")
        #expect(fourth.rcptTo("friend@example.net")?.code == 450, "\(fourth)")

        // Senders that name no member, and exempt accounts (anyone can write root@),
        // share one account: writing a foreign sender is no way around the limits.
        for sender in ["news@other.example", "", "root@vigie.test"] {
            #expect(try Self.relay(port: relayPort, from: sender, to: ["friend@example.net"], subject: "x").accepted)
        }
        let foreign = try Self.relay(port: relayPort, from: "news@elsewhere.example", to: ["friend@example.net"], subject: "y")
        #expect(foreign.rcptTo("friend@example.net")?.code == 450, "\(foreign)")
        let show = try vigie.ctl("show", "relay:foreign", "--json")
        #expect(show.stdout.contains("\"used\" : 3"), "\(show)")
        // Locked like any account; the admins are told, and no "member" relay:foreign@.
        for _ in 1...3 { _ = try Self.relay(port: relayPort, from: "a@b.example", to: ["friend@example.net"], subject: "z") }
        _ = try vigie.daemon?.waitForOutput(containing: "lock notification sent account=relay:foreign to=admin@vigie.test\n",
                                            timeout: 20)

        let metrics = try vigie.scrapeMetrics()
        #expect(vigie.metric("vigie_messages_total{verdict=\"external\"}", in: metrics) == 10, "\(metrics)")
        #expect(!vigie.log().contains("account=alice"))
    }
}

extension RelayTests {
    @Test("a sender per message is no way around: the whole flow from the host (relay:all) is limited, then locked")
    func rotatingSendersHitTheSharedAccount() throws {
        let (vigie, relayPort) = try Self.relayVigie()
        var results: [SMTPSendResult] = []
        for number in 1...100 {
            results.append(try Self.relay(port: relayPort, from: "user\(number)@vigie.test",
                                          to: ["victim\(number)@example.net"], subject: "spam \(number)"))
        }
        let firstThree = results.prefix(3).allSatisfy { $0.accepted }
        #expect(firstThree, "\(results.prefix(3))")
        let fourth = try #require(results[3].rcptTo("victim4@example.net"), "\(results[3])")
        #expect(fourth.code == 450 && fourth.enhancedCode == "4.7.1", "\(fourth)")
        #expect(fourth.text.contains("relay:all"), "the notice names the account that refused: \(fourth)")
        #expect(!results[4].accepted)
        #expect(results[5].accepted, "the third refusal in a row locks relay:all; that message is held: \(results[5])")
        let held = try #require(results[5].queueID)
        try vigie.postfix.waitForQueue(timeout: 10) { queue in queue.contains { $0.queueID == held && $0.isHeld } }
        for result in results.dropFirst(6) {
            #expect(result.recipients.first?.response.code == 550, "\(result)")
        }
        let show = try vigie.ctl("show", "relay:all")
        #expect(show.stdout.contains("LOCKED"), "\(show)")
        _ = try vigie.daemon?.waitForOutput(containing: "lock notification sent account=relay:all to=admin@vigie.test\n",
                                            timeout: 20)
        _ = try vigie.daemon?.waitForOutput(containing: "first_recipient=victim100@example.net")
        let refusal = vigie.log().split(separator: "\n").first { $0.contains("victim4@example.net") && $0.contains("refused:") }
        #expect(refusal?.contains("account=relay:all") == true && refusal?.contains("sender_account=user4") == true,
                "\(refusal ?? "no line")")
        // Once unlocked (after the admin fixed the web application), mail flows again.
        #expect(try vigie.ctl("unlock", "relay:all", "--reason", "CMS patched").succeeded)
        #expect(try Self.relay(port: relayPort, from: "user101@vigie.test", to: ["a@example.net"], subject: "ok").accepted)
    }
}
