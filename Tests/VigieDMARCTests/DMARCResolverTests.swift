import Foundation
import Testing
import VigieDNS
import VigieSockets
import VigieTestKit
@testable import VigieDaemon
@testable import VigieDMARC
#if canImport(Glibc)
import Glibc
#endif

/// DMARC discovery over real DNS: nsd serving fixtures/auth/zones/test.zone on
/// loopback, the daemon's `ResolverDMARCRecords` over the shared `DNSResolver`, and
/// Debian's Public Suffix List. `.test` is in no rule, so the default rule makes
/// `dmarc.test` the organisational domain of `*.dmarc.test`.
@Suite struct DMARCResolverTests {
    static let zone: String = {
        // Tests/VigieDMARCTests/DMARCResolverTests.swift → repository root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures/auth/zones/test.zone").path
    }()

    static func resolver(timeout: Duration = .seconds(3)) throws -> DNSResolver {
        let address = try FixtureNameserver.address(zone: "test", zoneFile: zone) { address in
            let probe = DNSResolver(configuration: .init(nameservers: [Nameserver.address(address)!], attemptTimeout: .milliseconds(200),
                                                         lookupTimeout: .milliseconds(400), cacheCapacity: 1))
            if case .success = probe.lookup("ns.test", .a) { return true }
            return false
        }
        return DNSResolver(configuration: .init(nameservers: [Nameserver.address(address)!], attemptTimeout: .seconds(1), lookupTimeout: timeout))
    }

    static let evaluator: DMARCEvaluator = {
        let text = (try? String(contentsOfFile: "/usr/share/publicsuffix/public_suffix_list.dat", encoding: .utf8)) ?? ""
        return DMARCEvaluator(publicSuffixList: (try? PublicSuffixList(parsing: text)) ?? (try! PublicSuffixList(rules: ["invalid"])))
    }()

    func evaluate(_ from: String, spf: String? = nil, dkim: [String] = []) throws -> DMARCMessageEvaluation {
        try #require(Self.evaluator.publicSuffixList.ruleCount > 1000, "Debian's publicsuffix package is needed (scripts/install-deps)")
        let records = ResolverDMARCRecords(resolver: try Self.resolver())
        return Self.evaluator.evaluate(fromFieldValues: [from], identifiers: DMARCIdentifiers(spfDomain: spf, dkimDomains: dkim),
                                       source: records)
    }

    @Test("the author domain's own record: p=reject, pass with aligned DKIM, fail without")
    func ownRecord() throws {
        let failed = try evaluate(" a@reject.dmarc.test", spf: "pass.spf.test")
        #expect(failed.evaluations.map(\.result) == [.fail])
        #expect(failed.evaluations[0].requestedPolicy == .reject)
        #expect(failed.authenticationResults == ["dmarc=fail (p=reject sp=reject) header.from=reject.dmarc.test"])
        #expect(try evaluate(" a@reject.dmarc.test", dkim: ["mail.reject.dmarc.test"]).evaluations[0].result == .pass)
        #expect(try evaluate(" a@reject.dmarc.test", spf: "bounce.dmarc.test").evaluations[0].result == .pass)
    }

    @Test("a subdomain with no record (NXDOMAIN, or only a non-DMARC TXT) gets dmarc.test's sp=reject")
    func subdomainPolicy() throws {
        for from in [" a@news.dmarc.test", " a@other.dmarc.test"] {
            let message = try evaluate(from)
            #expect(message.evaluations[0].result == .fail, "\(from)")
            #expect(message.evaluations[0].foundAtOrganisationalDomain, "\(from)")
            #expect(message.evaluations[0].requestedPolicy == .reject, "\(from)")
        }
        // dmarc.test itself gets p=none.
        #expect(try evaluate(" a@dmarc.test").evaluations[0].requestedPolicy == DMARCPolicy.none)
    }

    @Test("two records: none; no record anywhere: none; a record in two strings is read whole")
    func discovery() throws {
        let two = try evaluate(" a@two.dmarc.test")
        #expect(two.evaluations[0].result == DMARCResult.none)
        #expect(two.evaluations[0].reason == "2 DMARC records at _dmarc.two.dmarc.test")
        let nothing = try evaluate(" a@pass.spf.test")
        #expect(nothing.evaluations[0].result == DMARCResult.none)
        #expect(nothing.evaluations[0].reason == "no DMARC record")
        #expect(try evaluate(" a@split.dmarc.test").evaluations[0].requestedPolicy == .quarantine)
        #expect(try evaluate(" a@broken.dmarc.test").evaluations[0].result == .permerror)
    }

    @Test("pct=0 over DNS: still dmarc=fail, but p=reject is enacted as quarantine")
    func percentage() throws {
        let message = try evaluate(" a@sampled.dmarc.test")
        #expect(message.evaluations[0].result == .fail)
        let decision = DMARCActions(quarantine: .hold, reject: .reject).decide(message, sample: 0)
        #expect(decision?.action == .hold)
        #expect(decision?.sampledOut == true)
    }

    @Test("temperror: a server that refuses the name (nsd is not authoritative for .invalid)")
    func refused() throws {
        let message = try evaluate(" a@example.invalid")
        #expect(message.evaluations[0].result == .temperror)
        #expect(message.evaluations[0].reason == "DNS lookup failed")
        #expect(message.authenticationResults == ["dmarc=temperror (DNS lookup failed) header.from=example.invalid"])
    }

    @Test("temperror: a server that never answers, within the lookup timeout")
    func timeout() throws {
        // A bound UDP socket nobody reads: queries vanish.
        let silent = try SilentNameserver()
        let resolver = DNSResolver(configuration: .init(nameservers: [silent.address], attemptTimeout: .milliseconds(100), lookupTimeout: .milliseconds(300)))
        let start = ContinuousClock.now
        let message = Self.evaluator.evaluate(fromFieldValues: [" a@reject.dmarc.test"], identifiers: DMARCIdentifiers(spfDomain: nil, dkimDomains: []),
                                              source: ResolverDMARCRecords(resolver: resolver))
        withExtendedLifetime(silent) {}  // open, so queries vanish rather than meet a closed port
        #expect(message.evaluations[0].result == .temperror)
        #expect(message.evaluations[0].reason == "DNS timeout")
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}
