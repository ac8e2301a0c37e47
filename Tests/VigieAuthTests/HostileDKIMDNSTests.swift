import Foundation
import Testing
import VigieTestKit
import VigieAuth
import VigieDKIM
@testable import VigieDNS

/// Issue 15's hostile DNS inputs for DKIM: many signatures whose domains never
/// answer, and a key record too big for UDP. Each gets its verdict within the
/// verifier's bound, and the verifier goes on serving.
@Suite struct HostileDKIMDNSTests {
    /// 100 signatures for 100 domains whose nameserver never answers: the cap
    /// (5 signatures checked) and the total bound (`Limits.timeout`) together limit
    /// the DNS time. Each lookup may wait its 1 s attempt: five in a row would be
    /// 5 s; the message's bound of 2 s is what stops it.
    @Test func aHundredSignaturesForSlowDomainsShareOneBound() throws {
        let silent = try SilentNameserver()
        let resolver = DNSResolver(configuration: .init(nameservers: [silent.address], attemptTimeout: .seconds(1),
                                                        lookupTimeout: .seconds(1), attempts: 1))
        let verifier = try DKIMVerifier(resolver: resolver, limits: .init(timeout: .seconds(2)))
        var headers = ""
        for domain in 0..<100 {
            headers += "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=slow\(domain).test; s=sel; h=from; "
                + "bh=qM6v2VXzwJWkS7xzlPGOS5DZwnF4ZX1vA+LEZVQp1HE=; b=\(String(repeating: "A", count: 340))==\r\n"
        }
        let message = Array((headers + "From: a@slow0.test\r\nSubject: x\r\n\r\nbody\r\n").utf8)
        let start = ContinuousClock.now
        let outcome = verifier.verify(message: message)
        let elapsed = ContinuousClock.now - start
        #expect(outcome.signatures.count == 5, "\(outcome)")
        #expect(outcome.skippedSignatures == 95)
        #expect(outcome.signatures.allSatisfy { $0.result == .temperror }, "no answer is temperror, never fail or none: \(outcome)")
        #expect(elapsed < .milliseconds(3500), "the message's 2 s bound, not five 1 s lookups: \(elapsed)")

        // Still serving: the next message is verified (and bounded) the same way.
        let next = verifier.verify(message: message)
        #expect(next.signatures.count == 5)
    }

    /// A key record of 9,000 bytes: UDP says truncated, TCP carries it (under the
    /// resolver's 16 KiB cap), libopendkim gets it and judges the signature by it.
    @Test func aKeyRecordOverEightKilobytesThroughATruncatedAnswer() throws {
        // A "key" of 9,000 base64 characters that is not an RSA key.
        let hugeKey = "v=DKIM1; k=rsa; p=" + String(repeating: "QUJD", count: 2250)
        let server = try ScriptedNameserver(tcp: { query in
            .reply(Self.txtAnswer(to: query.bytes, text: Array(hugeKey.utf8)))
        }) { query in [.reply(ScriptedNameserver.answer(to: query.bytes, addresses: [], flags: 0x0200))] }
        let resolver = DNSResolver(configuration: .init(nameservers: [server.address], attemptTimeout: .seconds(2),
                                                        lookupTimeout: .seconds(2), attempts: 1, cacheCapacity: 1))
        let verifier = try DKIMVerifier(resolver: resolver, limits: .init(timeout: .seconds(3)))
        let outcome = verifier.verify(message: try TestNameserver.message("rsa-pass.eml"))
        let signature = try #require(outcome.signatures.first, "\(outcome)")
        #expect(signature.domain == "example.test")
        // Fetched whole over TCP, then too large for libopendkim's 8 KiB buffer: the
        // same on every retry, so permanent, not "try again later".
        #expect(signature.result == .permerror, "\(outcome)")
        #expect(signature.reason?.hasPrefix("key record of ") == true, "\(outcome)")
        #expect(server.tcpQueries >= 1, "asked again over TCP after the truncated UDP answer")
    }

    /// A TXT response to `query`: its id and question, one record whose text is
    /// cut into character-strings of at most 255 bytes.
    static func txtAnswer(to query: [UInt8], text: [UInt8]) -> [UInt8] {
        var response = ScriptedNameserver.answer(to: query, addresses: [])
        response[7] = 1  // ANCOUNT
        var rdata: [UInt8] = []
        var rest = text[...]
        while !rest.isEmpty {
            let piece = rest.prefix(255)
            rdata.append(UInt8(piece.count))
            rdata += piece
            rest = rest.dropFirst(piece.count)
        }
        response += [0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 60, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xff)] + rdata
        return response
    }
}
