import Testing
import VigieTestKit
import VigieAuth
import VigieDNS
import VigieSPF

/// libspf2 through Vigie's resolver against nsd on loopback (fixtures/auth/zones).
@Suite struct SPFVerifierTests {
    let verifier: SPFVerifier

    init() throws {
        verifier = try SPFVerifier(resolver: try TestNameserver.resolver(), receiver: "mx.vigie.test")
    }

    func result(_ ip: String, _ sender: String, helo: String = "mail.example.test") -> SPFOutcome {
        verifier.check(clientIP: ip, helo: helo, mailFrom: sender)
    }

    @Test func passFailSoftfailNeutralNone() {
        #expect(result("192.0.2.7", "alice@pass.spf.test").result == .pass)
        #expect(result("192.0.2.7", "alice@fail.spf.test").result == .fail)
        #expect(result("192.0.2.7", "alice@softfail.spf.test").result == .softfail)
        #expect(result("192.0.2.7", "alice@neutral.spf.test").result == .neutral)
        #expect(result("192.0.2.7", "alice@none.spf.test").result == .none)
        #expect(result("192.0.2.7", "alice@nxdomain.spf.test").result == .none)
    }

    @Test func mechanismsThatQueryDNS() {
        #expect(result("192.0.2.20", "a@a.spf.test").result == .pass)
        #expect(result("192.0.2.21", "a@a.spf.test").result == .fail)
        #expect(result("192.0.2.30", "a@mx.spf.test").result == .pass)
        #expect(result("192.0.2.31", "a@mx.spf.test").result == .fail)
        #expect(result("192.0.2.8", "a@include.spf.test").result == .pass)
        #expect(result("2001:db8::25", "a@ipv6.spf.test").result == .pass)
        #expect(result("2001:db9::25", "a@ipv6.spf.test").result == .fail)
    }

    @Test func permerrorVariants() {
        let two = result("192.0.2.7", "a@two.spf.test")
        #expect(two.result == .permerror, "two records: \(two)")
        let loop = result("192.0.2.7", "a@loop.spf.test")
        #expect(loop.result == .permerror, "include loop: \(loop)")
        let tooMany = result("192.0.2.7", "a@toomany.spf.test")
        #expect(tooMany.result == .permerror, "more than 10 lookups: \(tooMany)")
        let syntax = result("192.0.2.7", "a@syntax.spf.test")
        #expect(syntax.result == .permerror, "syntax error: \(syntax)")
        #expect(result("192.0.2.7", "a@badinclude.spf.test").result == .permerror)
        #expect(tooMany.reason != nil)
    }

    @Test func nullSenderChecksHELO() {
        let pass = result("192.0.2.40", "", helo: "helo.spf.test")
        #expect(pass.result == .pass)
        #expect(pass.identity == .helo)
        #expect(pass.checkedAddress == "postmaster@helo.spf.test")
        #expect(result("192.0.2.41", "<>", helo: "helo.spf.test").result == .fail)
    }

    @Test func invalidInputGivesAVerdictNotACrash() {
        // Invalid HELO with a real sender: HELO is only a macro input, the check goes on.
        #expect(result("192.0.2.7", "alice@pass.spf.test", helo: "[192.0.2.7]").result == .pass)
        #expect(result("192.0.2.7", "alice@pass.spf.test", helo: "bad helo %{l}\r\n").result == .pass)
        // Null sender and invalid HELO: nothing to check.
        #expect(result("192.0.2.7", "", helo: "localhost").result == .none)
        #expect(result("192.0.2.7", "", helo: String(repeating: "a", count: 5000)).result == .none)
        #expect(result("not-an-ip", "alice@pass.spf.test").result == .permerror)
        #expect(result("192.0.2.7", "alice@").result == .none)
        #expect(result("192.0.2.7", "no-at-sign").result == .none)
        #expect(result("192.0.2.7", "a@b@pass.spf.test").result == .pass) // last @ wins, as in RFC 5321 paths
        #expect(result("192.0.2.7", String(repeating: "x", count: 400) + "@pass.spf.test").result == .none)
        #expect(result("192.0.2.7", "a@exa mple.test").result == .none)
        #expect(result("192.0.2.7", "a@" + String(repeating: "l", count: 64) + ".test").result == .none)
    }

    @Test func deadServerIsTemperrorWithinTheTimeout() throws {
        let silent = try SilentNameserver()
        let resolver = DNSResolver(configuration: .init(nameservers: [silent.address], attemptTimeout: .milliseconds(300),
                                                        lookupTimeout: .seconds(5)))
        let slow = try SPFVerifier(resolver: resolver, receiver: "mx.vigie.test", checkTimeout: .milliseconds(800))
        let start = ContinuousClock.now
        let outcome = slow.check(clientIP: "192.0.2.7", helo: "mail.example.test", mailFrom: "alice@pass.spf.test")
        let elapsed = ContinuousClock.now - start
        #expect(outcome.result == .temperror)
        #expect(elapsed < .milliseconds(1500), "took \(elapsed)")
    }
}
