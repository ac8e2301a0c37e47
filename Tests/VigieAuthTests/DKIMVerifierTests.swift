import Foundation
import Testing
import VigieTestKit
import VigieAuth
import VigieDKIM
import VigieDNS

/// libopendkim through Vigie's resolver against nsd on loopback; messages signed by
/// dkimpy (fixtures/auth/make-fixtures.py), not by Vigie.
@Suite struct DKIMVerifierTests {
    let verifier: DKIMVerifier

    init() throws {
        verifier = try DKIMVerifier(resolver: try TestNameserver.resolver())
    }

    func verify(_ name: String) throws -> DKIMOutcome {
        verifier.verify(message: try TestNameserver.message(name))
    }

    @Test func rsaPass() throws {
        let outcome = try verify("rsa-pass.eml")
        #expect(outcome.signatures.count == 1)
        let sig = try #require(outcome.signatures.first)
        #expect(sig.result == .pass, "\(sig)")
        #expect(sig.domain == "example.test")
        #expect(sig.selector == "sel1")
        #expect(sig.algorithm == "rsa-sha256")
        #expect(sig.keyBits == 2048)
        #expect(sig.identity == "@example.test")
        #expect((sig.signaturePrefix ?? "").count >= 8)
    }

    @Test func ed25519() throws {
        // libopendkim 2.11 on Debian 12 is built with OpenSSL 3 and verifies
        // ed25519-sha256 (RFC 8463); this test pins that.
        let sig = try #require(try verify("ed25519-pass.eml").signatures.first)
        #expect(sig.result == .pass, "\(sig)")
        #expect(sig.algorithm == "ed25519-sha256")
        #expect(sig.selector == "ed1")
    }

    @Test func bodyChangedFails() throws {
        let sig = try #require(try verify("body-changed.eml").signatures.first)
        #expect(sig.result == .fail)
        #expect(sig.reason == "body hash did not verify")
    }

    @Test func signedHeaderChangedFails() throws {
        let sig = try #require(try verify("header-changed.eml").signatures.first)
        #expect(sig.result == .fail)
        #expect(sig.reason == "signature did not verify")
    }

    @Test func missingAndRevokedKeys() throws {
        let missing = try #require(try verify("missing-key.eml").signatures.first)
        #expect(missing.result == .permerror)
        #expect(missing.reason == "no key")
        let revoked = try #require(try verify("revoked-key.eml").signatures.first)
        #expect(revoked.result == .permerror)
        #expect(revoked.reason == "key revoked")
    }

    @Test func bodyLengthTagIsHonoured() throws {
        let sig = try #require(try verify("length-tag.eml").signatures.first)
        #expect(sig.result == .pass, "\(sig)")
    }

    @Test func severalSignaturesWithMixedResults() throws {
        let outcome = try verify("mixed.eml")
        let results = outcome.signatures.map { "\($0.selector):\($0.algorithm ?? "?"):\($0.result.rawValue)" }.sorted()
        #expect(results == ["ed1:ed25519-sha256:pass", "missing:rsa-sha256:permerror", "sel1:rsa-sha256:fail",
                            "sel1:rsa-sha256:pass"], "\(outcome)")
        // header.b tells the two sel1 signatures apart.
        let prefixes = Set(outcome.signatures.compactMap(\.signaturePrefix))
        #expect(prefixes.count == 4)
    }

    @Test func unsignedIsNone() throws {
        let outcome = try verify("unsigned.eml")
        #expect(outcome.signatures.isEmpty)
        #expect(AuthenticationResults.value(authservID: "mx", spf: nil, dkim: outcome) == "mx;\n\tdkim=none")
    }

    @Test func malformedSignaturesAreNeutralAndTheGoodOneStillPasses() throws {
        let outcome = try verify("malformed.eml")
        #expect(outcome.signatures.contains { $0.result == .pass && $0.selector == "sel1" }, "\(outcome)")
        #expect(outcome.signatures.contains { $0.result == .neutral }, "\(outcome)")
    }

    @Test func deadServerIsTemperrorWithinTheTimeout() throws {
        let silent = try SilentNameserver()
        let resolver = DNSResolver(configuration: .init(nameservers: [silent.address], attemptTimeout: .milliseconds(300)))
        let slow = try DKIMVerifier(resolver: resolver, limits: .init(timeout: .milliseconds(700)))
        let start = ContinuousClock.now
        let outcome = slow.verify(message: try TestNameserver.message("mixed.eml"))
        let elapsed = ContinuousClock.now - start
        #expect(outcome.signatures.allSatisfy { $0.result == .temperror }, "\(outcome)")
        #expect(elapsed < .milliseconds(1500), "took \(elapsed)")
    }

    @Test func concurrentVerificationsShareOneLibraryAndResolver() throws {
        let message = try TestNameserver.message("mixed.eml")
        let verifier = self.verifier
        let failures = Atomic_Counter()
        DispatchQueue.concurrentPerform(iterations: 200) { _ in
            let outcome = verifier.verify(message: message)
            if outcome.signatures.filter({ $0.result == .pass }).count != 2 { failures.increment() }
        }
        #expect(failures.value == 0)
    }
}

final class Atomic_Counter: @unchecked Sendable {
    // @unchecked: every access goes through the lock.
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
