// The SRS codec with a fixed clock: known vectors (computed independently with
// Python's hmac module), round trips, every single-character mutation refused,
// expiry at the boundary, key rotation, case and alphabet tolerance.

import Testing
import VigieTestKit
@testable import VigieSRS

/// 2023-11-14T22:13:20Z: day 19675, stamp "G3".
let fixedNow: Int64 = 1_700_000_000
let day: Int64 = 86_400

func makeCodec(secrets: [String] = ["tops3cr3t"], domain: String = "srs.example", encoding: SRSHashEncoding = .base64url,
               excluded: [String] = []) throws -> SRSCodec {
    SRSCodec(configuration: SRSConfiguration(domain: domain, excludedDomains: excluded, hashEncoding: encoding),
             secrets: try SRSSecrets(secrets: secrets))
}

func rewritten(_ outcome: SRSForwardOutcome) -> String? {
    if case .rewritten(let address) = outcome { return address }
    return nil
}

@Suite("SRS codec")
struct SRSCodecTests {
    @Test("known vectors: SRS0 as libsrs2 writes it")
    func knownVectors() throws {
        let codec = try makeCodec()
        #expect(try codec.forward("alice@example.com", now: fixedNow) == .rewritten("SRS0=PGkz=G3=example.com=alice@srs.example"))
        // Fields are hashed lower-cased, but written as given.
        #expect(try codec.forward("Bob.Smith@Example.COM", now: fixedNow) == .rewritten("SRS0=pjHt=G3=Example.COM=Bob.Smith@srs.example"))
        // A hash with '/' in base64 is written with '_' by default, '/' in base64 mode.
        #expect(try codec.forward("u16@example.com", now: fixedNow) == .rewritten("SRS0=U-PO=G3=example.com=u16@srs.example"))
        let classic = try makeCodec(encoding: .base64)
        #expect(try classic.forward("u16@example.com", now: fixedNow) == .rewritten("SRS0=U+PO=G3=example.com=u16@srs.example"))
    }

    @Test("SRS1: another forwarder's SRS0 address is wrapped, and unwraps to it")
    func srs1() throws {
        let codec = try makeCodec()
        let other = "SRS0=HHHH=TT=orig.example=alice@fwd.example"
        let wrapped = try #require(rewritten(try codec.forward(other, now: fixedNow)))
        #expect(wrapped == "SRS1=jC_L=fwd.example==HHHH=TT=orig.example=alice@srs.example")
        #expect(try codec.reverse(wrapped, now: fixedNow + 400 * day) == .original(other))  // SRS1 has no stamp
        // An SRS1 of yet another forwarder is re-signed, keeping its first host.
        let srs1 = "SRS1=XXXX=fwd.example==HHHH=TT=orig.example=alice@second.example"
        let again = try #require(rewritten(try codec.forward(srs1, now: fixedNow)))
        #expect(again.hasPrefix("SRS1="))
        #expect(again.hasSuffix("=fwd.example==HHHH=TT=orig.example=alice@srs.example"))
        #expect(try codec.reverse(again, now: fixedNow) == .original(other))
    }

    @Test("senders left alone: SRS domain, excluded domains, non-addresses, own SRS addresses")
    func unchanged() throws {
        let codec = try makeCodec(excluded: ["club.example", ".lists.example"])
        #expect(try codec.forward("bob@srs.example", now: fixedNow) == .unchanged(.srsDomain))
        #expect(try codec.forward("bob@SRS.Example", now: fixedNow) == .unchanged(.srsDomain))
        #expect(try codec.forward("bob@club.example", now: fixedNow) == .unchanged(.excludedDomain))
        #expect(try codec.forward("bob@a.lists.example", now: fixedNow) == .unchanged(.excludedDomain))
        #expect(try codec.forward("bob@lists.example", now: fixedNow) != .unchanged(.excludedDomain))
        for key in ["", "bob", "@example.com", "bob@", "\"unterminated@example.com", "a\u{1}b@example.com"] {
            #expect(try codec.forward(key, now: fixedNow) == .unchanged(.notAnAddress), "\(key)")
        }
        #expect(try codec.forward("SRS1=abc@fwd.example", now: fixedNow) == .unchanged(.malformedSRS))
    }

    /// Found by fuzz/Targets/srs.swift: another host's SRS1 whose forwarder field is
    /// not a domain was wrapped, and `reverse` then refused the address it had made.
    @Test("an SRS1 sender whose forwarder field is not a domain is not wrapped")
    func srs1WithABadForwarderIsLeftAlone() throws {
        let codec = try makeCodec()
        #expect(try codec.forward("SRS1=HHHH=HHH<TT==HHHH=TT=orig.example=bob@fwd.example", now: fixedNow) == .unchanged(.malformedSRS))
        guard case .rewritten(let wrapped) = try codec.forward("SRS1=HHHH=first.example==HHHH=TT=orig.example=bob@fwd.example", now: fixedNow) else {
            Issue.record("a well-formed SRS1 was not wrapped"); return
        }
        #expect(try codec.reverse(wrapped, now: fixedNow) == .original("SRS0=HHHH=TT=orig.example=bob@first.example"))
    }

    @Test("round trips over generated addresses: international, quoted, long")
    func roundTrips() throws {
        let codec = try makeCodec()
        var generator = SeededRandom(seed: 42)
        let locals = ["alice", "a.b-c+tag", "o'hara", "user=with=equals", "\"john doe\"", "\"quote\\\"inside\"", "jörg",
                      "用户", "x", String(repeating: "l", count: 40)]
        let domains = ["example.com", "EXAMPLE.org", "bücher.example", "xn--bcher-kva.example", "sub.domain.co.uk", "[192.0.2.1]"]
        var tested = 0
        for local in locals {
            for domain in domains {
                let sender = "\(local)@\(domain)"
                let now = fixedNow + Int64.random(in: 0...(3000 * day), using: &generator)
                guard let srs = rewritten(try codec.forward(sender, now: now)) else {
                    #expect(try codec.forward(sender, now: now) == .unchanged(.tooLong), "\(sender)")
                    continue
                }
                #expect(srs.hasSuffix("@srs.example"))
                let localPart = srs.utf8.split(separator: UInt8(ascii: "@")).dropLast().joined(separator: [UInt8(ascii: "@")])
                #expect(Array(localPart).count <= 64, "\(srs)")
                #expect(!srs.contains("/") && !srs.contains("+") || sender.contains("+") || sender.contains("/"), "\(srs)")
                let later = now + Int64.random(in: 0...(21 * day), using: &generator)
                #expect(try codec.reverse(srs, now: later) == .original(MailAddress(sender)!.externalString), "\(sender) -> \(srs) at \(now) \(later): \(String(describing: try? codec.reverse(srs, now: later)))")
                // Upper-cased by a relay: still valid.
                if srs.utf8.allSatisfy({ $0 < 0x80 }) {
                    #expect(try codec.reverse(srs.uppercased(), now: later) != .refused(.badHash), "\(srs)")
                }
                tested += 1
            }
        }
        #expect(tested > 40)
    }

    @Test("a sender whose SRS form would pass 64 octets of local part is left unchanged")
    func tooLong() throws {
        let codec = try makeCodec()
        // SRS0=HHHH=TT= is 13 octets, then domain, '=', local part.
        let domain = "example.com"  // 11
        let fits = String(repeating: "a", count: 64 - 13 - 11 - 1)
        let srs = try #require(rewritten(try codec.forward("\(fits)@\(domain)", now: fixedNow)))
        #expect(srs.split(separator: "@")[0].utf8.count == 64)
        #expect(try codec.forward("\(fits)a@\(domain)", now: fixedNow) == .unchanged(.tooLong))
        let lenient = SRSCodec(configuration: SRSConfiguration(domain: "srs.example", maximumLocalPartOctets: 255),
                               secrets: try SRSSecrets(secrets: ["tops3cr3t"]))
        #expect(rewritten(try lenient.forward("\(fits)a@\(domain)", now: fixedNow)) != nil)
    }

    @Test("every single-character mutation of a valid SRS address is refused or changes the result")
    func mutations() throws {
        let codec = try makeCodec()
        let valid = try #require(rewritten(try codec.forward("alice@example.com", now: fixedNow)))
        let original = "alice@example.com"
        let bytes = Array(valid.utf8)
        let localEnd = bytes.lastIndex(of: UInt8(ascii: "@"))!
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=-_+/.@".utf8)
        var mutated = 0
        for index in bytes.indices {
            for replacement in alphabet where replacement != bytes[index] {
                var copy = bytes
                copy[index] = replacement
                let outcome = try codec.reverse(copy, now: fixedNow)
                // Case changes of the hash, stamp, tag and domain are the same address; the
                // alphabet twins ('-'/'+', '_'/'/') too. Anything else must not give back
                // the original sender.
                let sameIgnoringCase = ASCII.lower(copy[index]) == ASCII.lower(bytes[index])
                let twin = Set([bytes[index], copy[index]]) == Set("-+".utf8) || Set([bytes[index], copy[index]]) == Set("_/".utf8)
                let inHashOrTagOrStamp = index < 13 || index > localEnd
                if (sameIgnoringCase || twin) && inHashOrTagOrStamp { continue }
                // The separator after SRS0 may be any of '=', '-', '+' (libsrs2).
                if index == 4 && "=-+".utf8.contains(replacement) { continue }
                if case .original(let address) = outcome {
                    // Changing the case of the original local part or domain changes the
                    // result's case only (the hash is over lower-cased fields).
                    #expect(sameIgnoringCase && address.lowercased() == original, "\(String(decoding: copy, as: UTF8.self)) -> \(address)")
                }
                mutated += 1
            }
        }
        #expect(mutated > 1000)
        // Deletions and insertions as well.
        for index in bytes.indices where index < localEnd {
            var shorter = bytes
            shorter.remove(at: index)
            if case .original = try codec.reverse(shorter, now: fixedNow) { Issue.record("deletion at \(index) accepted") }
            var longer = bytes
            longer.insert(UInt8(ascii: "x"), at: index)
            if case .original = try codec.reverse(longer, now: fixedNow) { Issue.record("insertion at \(index) accepted") }
        }
    }

    @Test("expiry at the boundary: valid through day 21, refused on day 22, stamps from the future refused")
    func expiry() throws {
        let codec = try makeCodec()
        let issuedAtEndOfDay = (fixedNow / day) * day + day - 1
        let srs = try #require(rewritten(try codec.forward("alice@example.com", now: issuedAtEndOfDay)))
        let startOfIssueDay = (fixedNow / day) * day
        #expect(try codec.reverse(srs, now: startOfIssueDay + 21 * day + day - 1) == .original("alice@example.com"))
        #expect(try codec.reverse(srs, now: startOfIssueDay + 22 * day) == .refused(.expired(ageDays: 22, maximumDays: 21)))
        #expect(try codec.reverse(srs, now: startOfIssueDay - 1) == .refused(.expired(ageDays: 1023, maximumDays: 21)))
        // The 1024-day cycle of the two-character stamp wraps around.
        #expect(try codec.reverse(srs, now: startOfIssueDay + 1024 * day) == .original("alice@example.com"))
    }

    @Test("key rotation: the first secret signs, every secret verifies")
    func rotation() throws {
        let old = try makeCodec(secrets: ["old-secret"])
        let rotated = try makeCodec(secrets: ["new-secret", "old-secret"])
        let oldAddress = try #require(rewritten(try old.forward("alice@example.com", now: fixedNow)))
        let newAddress = try #require(rewritten(try rotated.forward("alice@example.com", now: fixedNow)))
        #expect(oldAddress != newAddress)
        #expect(try rotated.reverse(oldAddress, now: fixedNow) == .original("alice@example.com"))
        #expect(try rotated.reverse(newAddress, now: fixedNow) == .original("alice@example.com"))
        #expect(try old.reverse(newAddress, now: fixedNow) == .refused(.badHash))
        // The secrets file format: CRLF, blank lines, spaces kept.
        let file = try SRSSecrets(fileContents: Array("new-secret\r\n\n  old-secret\n".utf8))
        #expect(file.keys.count == 2)
        #expect(throws: SRSSecretsError.empty) { try SRSSecrets(fileContents: Array("\n\r\n".utf8)) }
    }

    @Test("verification is case-insensitive and accepts base64 and base64url hashes")
    func tolerance() throws {
        let url = try makeCodec()
        let classic = try makeCodec(encoding: .base64)
        let fromClassic = try #require(rewritten(try classic.forward("u16@example.com", now: fixedNow)))
        #expect(fromClassic.contains("+"))
        #expect(try url.reverse(fromClassic, now: fixedNow) == .original("u16@example.com"))
        #expect(try url.reverse(fromClassic.lowercased(), now: fixedNow) == .original("u16@example.com"))
        #expect(try url.reverse("srs0-U-PO=g3=example.com=u16@SRS.EXAMPLE", now: fixedNow) == .original("u16@example.com"))
    }

    @Test("malformed SRS addresses are refused with a reason; other domains and plain addresses are not SRS")
    func malformed() throws {
        let codec = try makeCodec()
        for address in ["SRS0=@srs.example", "SRS0=PGkz@srs.example", "SRS0=PGkz=G3@srs.example",
                        "SRS0=PGkz=G3=example.com@srs.example", "SRS0=PGkz=G3=example.com=@srs.example",
                        "SRS0==G3=example.com=alice@srs.example", "SRS0=PGkz=G!=example.com=alice@srs.example",
                        "SRS0=PGkz=G3G=example.com=alice@srs.example", "SRS0=PGkz=G3==alice@srs.example",
                        "SRS1=abcd@srs.example", "SRS1=abcd=fwd.example@srs.example", "SRS0=PGkz=G3=exa mple.com=alice@srs.example"] {
            guard case .refused(let refusal) = try codec.reverse(address, now: fixedNow) else {
                Issue.record("\(address) not refused")
                continue
            }
            if case .malformed = refusal {} else if refusal != .badHash { Issue.record("\(address): \(refusal)") }
        }
        #expect(try codec.reverse("SRS0=PGkz=G3=example.com=alice@other.example", now: fixedNow) == .notSRS)
        #expect(try codec.reverse("alice@srs.example", now: fixedNow) == .notSRS)
        #expect(try codec.reverse("SRS2=x@srs.example", now: fixedNow) == .notSRS)
        #expect(try codec.reverse("SRS0=PGkz=G3=example.com=alice@srs.example", now: fixedNow) == .original("alice@example.com"))
    }

    @Test("fuzz: random bytes and random edits never trap")
    func fuzz() throws {
        let codec = try makeCodec()
        var generator = SeededRandom(seed: 7)
        let seeds = Array("SRS0=PGkz=G3=example.com=alice@srs.example SRS1=jC_L=fwd.example==HHHH=TT=orig.example=alice@srs.example\"\\@=+-_/%\u{0}\u{ff}".utf8)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...90, using: &generator)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &generator) ? seeds.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            _ = try codec.forward(bytes, now: fixedNow)
            _ = try codec.reverse(bytes, now: fixedNow)
        }
    }
}

