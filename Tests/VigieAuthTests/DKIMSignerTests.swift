import Foundation
import Testing
import VigieAuth
import VigieCrypto
import VigieDKIM
import VigieDNS
import VigieTestKit

/// Vigie's signatures, checked by three verifiers that resolve the keys from nsd on
/// loopback: Vigie's own (libopendkim), dkimpy (independent of libopendkim) and
/// opendkim in verify mode. Dual signing: RSA-2048 and Ed25519 for one domain.
@Suite struct DKIMSignerTests {
    /// Keys made once for the process and published in a zone of their own.
    struct Published: Sendable {
        let rsa: DKIMSigningKey
        let ed25519: DKIMSigningKey
        let nameserver: String

        static let shared: Result<Published, HarnessError> = {
            do {
                let rsaKey = try PrivateKey.generate(.rsa(bits: 2048))
                let edKey = try PrivateKey.generate(.ed25519)
                let directory = try TestDirectory.make(prefix: "vigie-signzone-")
                let zone = """
                $ORIGIN sign.test.
                $TTL 300
                @       SOA ns.sign.test. hostmaster.sign.test. 1 3600 600 86400 300
                        NS  ns.sign.test.
                ns      A   127.0.0.1
                \(try DKIMKeyRecord(for: rsaKey).zoneLine(selector: "r2026", domain: "club.sign.test"))
                \(try DKIMKeyRecord(for: edKey).zoneLine(selector: "e2026", domain: "club.sign.test"))

                """
                try zone.write(toFile: "\(directory)/sign.zone", atomically: true, encoding: .utf8)
                let address = try FixtureNameserver.address(zone: "sign.test", zoneFile: "\(directory)/sign.zone") { address in
                    let probe = DNSResolver(configuration: .init(nameservers: [Nameserver.address(address)!],
                                                                 attemptTimeout: .milliseconds(200),
                                                                 lookupTimeout: .milliseconds(400), cacheCapacity: 1))
                    if case .success = probe.lookup("ns.sign.test", .a) { return true }
                    return false
                }
                return .success(Published(
                    rsa: try DKIMSigningKey(domain: "club.sign.test", selector: "r2026", key: rsaKey),
                    ed25519: try DKIMSigningKey(domain: "club.sign.test", selector: "e2026", key: edKey),
                    nameserver: address))
            } catch let error as HarnessError {
                return .failure(error)
            } catch {
                return .failure(HarnessError("\(error)"))
            }
        }()
    }

    let keys: Published
    let signer: DKIMSigner
    let verifier: DKIMVerifier

    init() throws {
        keys = try Published.shared.get()
        signer = try DKIMSigner()
        verifier = try DKIMVerifier(resolver: DNSResolver(configuration: .init(
            nameservers: [Nameserver.address(keys.nameserver)!], attemptTimeout: .seconds(1), lookupTimeout: .seconds(3))))
    }

    static let message = Array("""
        From: Camille <camille@club.sign.test>\r
        To: bob@example.org\r
        Subject: Assemblée générale\r
        Date: Wed, 02 Dec 2026 10:00:00 +0100\r
        Message-ID: <ag-2026@club.sign.test>\r
        MIME-Version: 1.0\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        Bonjour Bob,\r
        \r
        L'assemblée a lieu jeudi.\r

        """.utf8)

    /// The message with the signatures on top, as the milter puts them.
    func signed(_ message: [UInt8] = message, with keys: [DKIMSigningKey]) throws -> [UInt8] {
        let results = signer.sign(message: message, keys: keys)
        var top: [UInt8] = []
        for result in results {
            let value = try #require(result.value, "\(result)")
            top += Array("\(DKIMSigning.headerName): \(value.replacingOccurrences(of: "\n", with: "\r\n"))\r\n".utf8)
        }
        return top + message
    }

    @Test func dualSignaturesPassWithVigiesVerifier() throws {
        let message = try signed(with: [keys.rsa, keys.ed25519])
        let outcome = verifier.verify(message: message)
        let results = outcome.signatures.map { "\($0.selector):\($0.algorithm ?? "?"):\($0.result.rawValue)" }.sorted()
        #expect(results == ["e2026:ed25519-sha256:pass", "r2026:rsa-sha256:pass"], "\(outcome)")
        let text = String(decoding: message, as: UTF8.self)
        #expect(text.contains("c=relaxed/relaxed"))
        // From and the other oversigned fields are listed once more than they occur.
        let h = try #require(text.components(separatedBy: ";\r\n\th=").dropFirst().first?.components(separatedBy: ";").first)
        let names = h.replacingOccurrences(of: "\r\n\t", with: "").replacingOccurrences(of: " ", with: "")
            .split(separator: ":").map { $0.lowercased() }
        #expect(names.filter { $0 == "from" }.count == 2, "\(names)")
        #expect(names.filter { $0 == "subject" }.count == 2, "\(names)")
        #expect(names.filter { $0 == "reply-to" }.count == 1, "absent, so listed once: \(names)")
        #expect(names.contains("message-id") && names.contains("content-type"))
    }

    @Test func dkimpyVerifiesBoth() throws {
        let verdicts = try ExternalDKIMVerifiers.dkimpy(message: try signed(with: [keys.rsa, keys.ed25519]), nameserver: keys.nameserver)
        #expect(verdicts.sorted() == ["pass d=club.sign.test s=e2026 a=ed25519-sha256", "pass d=club.sign.test s=r2026 a=rsa-sha256"],
                "\(verdicts)")
    }

    @Test func opendkimVerifiesBoth() throws {
        for key in [keys.rsa, keys.ed25519] {
            let lines = try ExternalDKIMVerifiers.opendkim(message: try signed(with: [key]), nameserver: keys.nameserver)
            // opendkim's own Authentication-Results, as its -t mode prints it.
            #expect(lines.contains { $0.contains("dkim=pass") && $0.contains("header.d=club.sign.test") && $0.contains("header.s=\(key.selector) ") },
                    "\(lines)")
        }
    }

    @Test func relaxedRefoldingStillVerifies() throws {
        var text = String(decoding: try signed(with: [keys.rsa, keys.ed25519]), as: UTF8.self)
        text = text.replacingOccurrences(of: "Subject: Assemblée générale", with: "Subject:   Assemblée\r\n   générale ")
        text = text.replacingOccurrences(of: "To: bob@example.org", with: "to:\tbob@example.org")
        let message = Array(text.utf8)
        #expect(verifier.verify(message: message).signatures.map(\.result) == [.pass, .pass])
        let verdicts = try ExternalDKIMVerifiers.dkimpy(message: message, nameserver: keys.nameserver)
        #expect(verdicts.count == 2 && verdicts.allSatisfy { $0.hasPrefix("pass ") }, "\(verdicts)")
    }

    @Test func bodyChangeFails() throws {
        let text = String(decoding: try signed(with: [keys.rsa, keys.ed25519]), as: UTF8.self)
            .replacingOccurrences(of: "jeudi", with: "vendredi")
        let message = Array(text.utf8)
        #expect(verifier.verify(message: message).signatures.map(\.result) == [.fail, .fail])
        let verdicts = try ExternalDKIMVerifiers.dkimpy(message: message, nameserver: keys.nameserver)
        #expect(verdicts.count == 2 && verdicts.allSatisfy { $0.hasPrefix("fail ") }, "\(verdicts)")
        let lines = try ExternalDKIMVerifiers.opendkim(message: try {
            let one = String(decoding: try signed(with: [keys.rsa]), as: UTF8.self).replacingOccurrences(of: "jeudi", with: "vendredi")
            return Array(one.utf8)
        }(), nameserver: keys.nameserver)
        #expect(lines.contains { $0.contains("dkim=fail") && $0.contains("header.s=r2026 ") }, "\(lines)")
        #expect(!lines.contains { $0.contains("dkim=pass") }, "\(lines)")
    }

    @Test(arguments: ["Subject: Urgent: new bank details\r\n", "Reply-To: thief@example.net\r\n", "From: ceo@club.sign.test\r\n"])
    func addingAnOversignedFieldFails(_ added: String) throws {
        // A replayer adds a field below the signatures, where a verifier reading
        // bottom-up would take it first; oversigning makes that break the signature.
        let text = String(decoding: try signed(with: [keys.rsa, keys.ed25519]), as: UTF8.self)
        let cut = try #require(text.range(of: "From: Camille"))
        let tampered = Array((String(text[..<cut.lowerBound]) + added + String(text[cut.lowerBound...])).utf8)
        #expect(verifier.verify(message: tampered).signatures.map(\.result) == [.fail, .fail])
        let verdicts = try ExternalDKIMVerifiers.dkimpy(message: tampered, nameserver: keys.nameserver)
        #expect(verdicts.count == 2 && verdicts.allSatisfy { $0.hasPrefix("fail ") }, "\(verdicts)")
        let lines = try ExternalDKIMVerifiers.opendkim(message: tampered, nameserver: keys.nameserver)
        #expect(!lines.contains { $0.contains("dkim=pass") }, "\(lines)")
        #expect(lines.contains { $0.contains("dkim=fail") }, "\(lines)")
    }

    @Test func weakAndMismatchedKeysAreRefused() throws {
        let weak = try PrivateKey.generate(.rsa(bits: 1024))
        #expect(throws: Never.self) { try DKIMSigningKey(domain: "d.test", selector: "s", key: weak) }
        let tooWeak = try PrivateKey(pem: Array(Self.rsa512PEM.utf8))
        #expect(tooWeak.kind == .rsa(bits: 512))
        #expect(throws: PrivateKeyError.self) { try DKIMSigningKey(domain: "d.test", selector: "s", key: tooWeak) }
        #expect(throws: PrivateKeyError.self) { try PrivateKey(pem: Array("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".utf8)) }
        #expect(throws: PrivateKeyError.self) { try PrivateKey(pem: []) }
    }

    @Test func aBodyWithoutItsLastLineEndStillVerifies() throws {
        // libopendkim refuses to sign it ("CRLF at end of body missing"); verifiers
        // add the CRLF (RFC 6376 §3.4.3, §3.4.4), so the signer does too. Fed in
        // one-byte chunks, so that the last two bytes span chunks.
        var text = String(decoding: Self.message, as: UTF8.self)
        text.removeLast(2)
        let cut = try #require(text.range(of: "\r\n\r\n"))
        let headers = text[..<cut.lowerBound].components(separatedBy: "\r\n")  // no folding in this message
        let body = Array(text[cut.upperBound...].utf8)
        let signing = signer.begin(keys: [keys.rsa, keys.ed25519])
        for header in headers { signing.header(Array(header.utf8)) }
        signing.endOfHeaders()
        for byte in body { signing.body([byte]) }
        var top: [UInt8] = []
        for result in signing.finish() {
            let value = try #require(result.value, "\(result)")
            top += Array("\(DKIMSigning.headerName): \(value.replacingOccurrences(of: "\n", with: "\r\n"))\r\n".utf8)
        }
        let message = top + Array(text.utf8)
        // libopendkim's verifier insists on the CRLF as its signer does (neutral
        // without it): as delivered, with the line end a mail store writes, it passes.
        #expect(verifier.verify(message: message + Array("\r\n".utf8)).signatures.map(\.result) == [.pass, .pass])
        let verdicts = try ExternalDKIMVerifiers.dkimpy(message: message, nameserver: keys.nameserver)
        #expect(verdicts.count == 2 && verdicts.allSatisfy { $0.hasPrefix("pass ") }, "\(verdicts)")
    }

    @Test func theKeyTableTellsEarlyWhatNoKeySigns() throws {
        let table = DKIMSigningKeyTable([.init(key: keys.rsa, fromDomains: ["club.sign.test", ".lists.example"])])
        #expect(table.mightSign(fromFieldValue: "Camille <camille@club.sign.test>"))
        #expect(table.mightSign(fromFieldValue: "CAMILLE@CLUB.SIGN.TEST"))
        #expect(table.mightSign(fromFieldValue: "ag@board.lists.example"))
        #expect(table.mightSign(fromFieldValue: "\"Zoé\" <zoe@example.org>"), "non-ASCII: read in full, never skipped")
        #expect(!table.mightSign(fromFieldValue: "camille@other.example"))
        #expect(!table.mightSign(fromFieldValue: ""))
        // A "maybe" is only a maybe: the full reading decides.
        #expect(table.mightSign(fromFieldValue: "club.sign.test fan <x@other.example>"))
        #expect(table.keys(forFromDomain: "other.example").isEmpty)
        #expect(table.keys(forFromDomain: "board.lists.example") == [keys.rsa])
        #expect(table.keys(forFromDomain: "lists.example").isEmpty, ".lists.example is the subdomains only")
    }

    @Test func keyRecordRoundTrips() throws {
        for kind in [PrivateKey.Kind.rsa(bits: 2048), .ed25519] {
            let key = try PrivateKey.generate(kind)
            let record = try DKIMKeyRecord(for: key)
            #expect(try DKIMKeyRecord.parse(record.text).get() == record)
            // Round trip through the key file.
            #expect(try DKIMKeyRecord(for: try PrivateKey(pem: try key.pem)) == record)
        }
        #expect(try DKIMKeyRecord.parse("k=ed25519; p=AAAA; t=s; foo=bar").get().keyType == "ed25519")
        #expect(throws: DKIMKeyRecordError.self) { try DKIMKeyRecord.parse("v=DKIM2; p=AAAA").get() }
        #expect(throws: DKIMKeyRecordError.self) { try DKIMKeyRecord.parse("k=rsa; v=DKIM1; p=AAAA").get() }
        #expect(throws: DKIMKeyRecordError.self) { try DKIMKeyRecord.parse("v=DKIM1; k=rsa").get() }
        #expect(throws: DKIMKeyRecordError.self) { try DKIMKeyRecord.parse("v=DKIM1; p=!!!").get() }
        #expect(try DKIMKeyRecord.parse("v=DKIM1; p=").get().publicKey.isEmpty, "revoked")
    }

    /// A 512-bit RSA key, which OpenSSL 3 no longer generates: the weak key a start must refuse.
    static let rsa512PEM = """
        -----BEGIN PRIVATE KEY-----
        MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAr4HerP+2QxcAHJDz
        xAgWV3mmspmobxf371wJZxzNp9gNalSIS3RbThaDAecrO/PxMJhV1Xz+NGrk8s9C
        Mxm4ewIDAQABAkEApBwa/MdLRWafaxa7aaVqRrdxAXYfAmp2IvJ7tFhBkVwuphk9
        092v6IfyYkPWsJnLm4xi94hpnVsB1JogR/ZHiQIhAONTFZp+wp667zL2NvIPMs0Q
        S5Lv+QLbhFFjLF29NwBtAiEAxaV372DTUxFJ9xf/m66dDiFcZ2Bvrb0zBxQMy9Ah
        G4cCIDEsyvKV00IFDDOJAY/Ra9riWIbbtJFCrVfxzSomAVztAiAhICKB1FCW04b6
        CuOkTBe2jpDWIquVCujKfunGHxPtcQIhAMbn/hX1HsYhDLtgjMDhW1sX3J/GFhDs
        hwl518jX9I5i
        -----END PRIVATE KEY-----

        """
}
