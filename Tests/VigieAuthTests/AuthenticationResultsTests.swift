import Testing
import VigieAuth
import VigieCore

@Suite struct AuthenticationResultsTests {
    let spfPass = SPFOutcome(result: .pass, identity: .mailFrom, checkedAddress: "alice@example.test",
                             clientIP: "192.0.2.7", helo: "mail.example.test")

    @Test func headerLooksLikeOpendkims() {
        let dkim = DKIMOutcome(signatures: [
            DKIMSignatureOutcome(result: .pass, domain: "example.test", selector: "sel1", identity: "@example.test",
                                 algorithm: "rsa-sha256", signaturePrefix: "QNgoBD01", keyBits: 2048),
            DKIMSignatureOutcome(result: .fail, domain: "example.test", selector: "sel2", algorithm: "ed25519-sha256",
                                 signaturePrefix: "abcdEFGH", reason: "body hash did not verify"),
        ])
        let value = AuthenticationResults.value(authservID: "mx.vigie.test", spf: spfPass, dkim: dkim)
        #expect(value == """
        mx.vigie.test;
        \tspf=pass smtp.mailfrom=alice@example.test;
        \tdkim=pass (2048-bit key) header.d=example.test header.i=@example.test header.a=rsa-sha256 header.s=sel1 header.b=QNgoBD01;
        \tdkim=fail (body hash did not verify) header.d=example.test header.a=ed25519-sha256 header.s=sel2 header.b=abcdEFGH
        """)
    }

    @Test func heloIdentityAndHostileValuesAreQuoted() {
        let spf = SPFOutcome(result: .none, identity: .helo, checkedAddress: "postmaster@x", clientIP: "192.0.2.7",
                             helo: "evil; dkim=pass", reason: "HELO (is) not a domain\r\nname")
        let value = AuthenticationResults.value(authservID: "mx", spf: spf, dkim: nil)
        #expect(value == "mx;\n\tspf=none (HELO \\(is\\) not a domain  name) smtp.helo=\"evil; dkim=pass\"")
        let odd = SPFOutcome(result: .fail, identity: .mailFrom, checkedAddress: "\"john doe\"@example.test",
                             clientIP: "192.0.2.7", helo: "h.example.test")
        #expect(AuthenticationResults.value(authservID: "mx", spf: odd, dkim: nil)
            == "mx;\n\tspf=fail smtp.mailfrom=\"\\\"john doe\\\"@example.test\"")
    }

    @Test func authservIDOfExistingHeaders() {
        #expect(AuthenticationResults.authservID(ofHeaderValue: " mx.vigie.test; spf=pass") == "mx.vigie.test")
        #expect(AuthenticationResults.authservID(ofHeaderValue: "(comment (nested)) MX.Vigie.Test 1; none") == "MX.Vigie.Test")
        #expect(AuthenticationResults.authservID(ofHeaderValue: "\r\n\t\"mx.vigie.test\"; none") == "mx.vigie.test")
        #expect(AuthenticationResults.authservID(ofHeaderValue: "mx.vigie.test;spf=pass") == "mx.vigie.test")
        #expect(AuthenticationResults.authservID(ofHeaderValue: "   ") == nil)
        #expect(AuthenticationResults.authservID(ofHeaderValue: "(unterminated") == nil)
    }

    @Test func forgeriesClaimingOurIDAreFound() {
        let headers = [" mx.vigie.test; dkim=pass header.d=bank.test", " relay.elsewhere.test; spf=pass",
                       " MX.VIGIE.TEST; spf=pass", " mx.vigie.test.evil; spf=pass"]
        #expect(AuthenticationResults.forgedHeaderPositions(headerValues: headers, authservID: "mx.vigie.test") == [1, 3])
    }

    @Test func receivedSPF() {
        #expect(ReceivedSPF.value(spfPass, receiver: "mx.vigie.test") == """
        pass (mx.vigie.test: domain of alice@example.test designates 192.0.2.7 as permitted sender)
        \tclient-ip=192.0.2.7; envelope-from="alice@example.test"; helo=mail.example.test; receiver=mx.vigie.test; identity=mailfrom;
        """)
    }

    @Test func policyPerResult() {
        let policy = InboundPolicy(spf: [.fail: .reject, .softfail: .tag, .temperror: .tempfail, .permerror: .reject,
                                         .pass: .reject])
        func outcome(_ r: SPFResult) -> SPFOutcome {
            SPFOutcome(result: r, identity: .mailFrom, checkedAddress: "a@fail.test", clientIP: "192.0.2.7", helo: "h.test")
        }
        guard case .refuse(let fail) = policy.decide(outcome(.fail)) else { Issue.record("fail not refused"); return }
        #expect(fail.code == "550" && fail.enhancedCode == "5.7.23")
        #expect(fail.lines == ["SPF fail: fail.test does not allow 192.0.2.7 to send its mail"])
        guard case .refuse(let temp) = policy.decide(outcome(.temperror)) else { Issue.record("temperror not refused"); return }
        #expect(temp.code == "451" && temp.enhancedCode == "4.7.24")
        guard case .refuse(let perm) = policy.decide(outcome(.permerror)) else { Issue.record("permerror not refused"); return }
        #expect(perm.code == "550" && perm.enhancedCode == "5.7.24")
        #expect(policy.decide(outcome(.softfail)) == .deliver)
        #expect(policy.decide(outcome(.pass)) == .deliver) // never refused, whatever the table says
        #expect(policy.decide(nil) == .deliver)
        #expect(InboundPolicy.default.decide(outcome(.fail)) == .deliver)
    }
}
