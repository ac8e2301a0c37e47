import COpenSSL
import Foundation
import Testing
import VigieAuth
import VigieDKIM
import VigieDNS

/// The decoded-key cache under libopendkim (Sources/CDKIMKeyCache): libopendkim's key
/// decoding reaches it, a warm cache changes no verdict, and it stays bounded. The
/// cache is process-wide and other suites may verify at the same time (swift test
/// runs suites in parallel), so counts are compared as "at least" where another
/// suite's message could add to them.
@Suite(.serialized) struct DKIMKeyCacheTests {
    @Test func libopendkimsDecodingReachesTheCache() {
        #expect(DKIMKeyCache.isActive)
    }

    @Test func aSecondMessageFromTheSameSignerReusesTheDecodedKey() throws {
        let verifier = try DKIMVerifier(resolver: try TestNameserver.resolver())
        DKIMKeyCache.flush()
        let first = try #require(verifier.verify(message: try TestNameserver.message("rsa-pass.eml")).signatures.first)
        #expect(first.result == .pass, "\(first)")
        let cold = DKIMKeyCache.statistics
        #expect(cold.misses >= 1 && cold.entries >= 1, "\(cold)")

        let second = try #require(verifier.verify(message: try TestNameserver.message("rsa-pass.eml")).signatures.first)
        #expect(second.result == .pass, "\(second)")
        #expect(second.keyBits == 2048)
        let warm = DKIMKeyCache.statistics
        #expect(warm.hits >= cold.hits + 1, "\(cold) then \(warm)")
    }

    @Test func aWarmKeyStillFailsWhatDoesNotVerify() throws {
        // The same signer (example.test, sel1) as rsa-pass.eml: its key is cached by
        // the first message, and the changed ones must fail exactly as they do cold.
        let verifier = try DKIMVerifier(resolver: try TestNameserver.resolver())
        DKIMKeyCache.flush()
        let pass = try #require(verifier.verify(message: try TestNameserver.message("rsa-pass.eml")).signatures.first)
        #expect(pass.result == .pass)
        let header = try #require(verifier.verify(message: try TestNameserver.message("header-changed.eml")).signatures.first)
        #expect(header.result == .fail)
        #expect(header.reason == "signature did not verify")
        let body = try #require(verifier.verify(message: try TestNameserver.message("body-changed.eml")).signatures.first)
        #expect(body.result == .fail)
        let stats = DKIMKeyCache.statistics
        // The body-changed message fails on its body hash before any key is decoded.
        #expect(stats.hits >= 1, "\(stats)")
    }

    @Test func theTableIsBoundedAndEachKeyIsItsOwn() throws {
        DKIMKeyCache.flush()
        let count = DKIMKeyCache.capacity + 44
        let keys = (0..<count).map { Self.ed25519SubjectPublicKeyInfo(seed: $0) }
        for key in keys {
            #expect(try Self.decodedRawKey(key) == Array(key.suffix(32)))
        }
        let filled = DKIMKeyCache.statistics
        #expect(filled.entries == DKIMKeyCache.capacity, "\(filled)")
        #expect(filled.misses >= UInt64(count), "\(filled)")

        // The most recent is still there (a hit); the first, least recently used,
        // was dropped (a miss), and comes back as the right key.
        #expect(try Self.decodedRawKey(keys[count - 1]) == Array(keys[count - 1].suffix(32)))
        let afterRecent = DKIMKeyCache.statistics
        #expect(afterRecent.hits >= filled.hits + 1, "\(filled) then \(afterRecent)")
        #expect(try Self.decodedRawKey(keys[0]) == Array(keys[0].suffix(32)))
        let afterOldest = DKIMKeyCache.statistics
        #expect(afterOldest.misses >= afterRecent.misses + 1, "\(afterRecent) then \(afterOldest)")
        #expect(afterOldest.entries == DKIMKeyCache.capacity)
    }

    @Test func bytesThatAreNotAKeyAreNotCached() throws {
        DKIMKeyCache.flush()
        var junk = Self.ed25519SubjectPublicKeyInfo(seed: 1)
        junk[3] ^= 0xFF
        #expect(throws: DecodeFailure.self) { _ = try Self.decodedRawKey(junk) }
        #expect(throws: DecodeFailure.self) { _ = try Self.decodedRawKey(junk) }
        // Never cached: both attempts went to OpenSSL's decoder and failed there.
        let stats = DKIMKeyCache.statistics
        #expect(stats.misses >= 2, "\(stats)")
        #expect(throws: DecodeFailure.self) { _ = try Self.decodedRawKey(junk) }
        #expect(DKIMKeyCache.statistics.misses >= stats.misses + 1)
    }

    struct DecodeFailure: Error {}

    /// Decodes DER the way libopendkim does (a memory BIO, d2i_PUBKEY_bio) and returns
    /// the raw public key, so that a key given back for other bytes would show.
    static func decodedRawKey(_ der: [UInt8]) throws -> [UInt8] {
        let bio = der.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        defer { BIO_free(bio) }
        guard let key = d2i_PUBKEY_bio(bio, nil) else { ERR_clear_error(); throw DecodeFailure() }
        defer { EVP_PKEY_free(key) }
        var raw = [UInt8](repeating: 0, count: 32)
        var length = raw.count
        guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1, length == 32 else { throw DecodeFailure() }
        return raw
    }

    /// A distinct, valid Ed25519 SubjectPublicKeyInfo per seed (any 32 bytes are a
    /// decodable Ed25519 public key), cheap enough to make hundreds.
    static func ed25519SubjectPublicKeyInfo(seed: Int) -> [UInt8] {
        let prefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
        var state = UInt64(truncatingIfNeeded: seed) &+ 0x9E37_79B9_7F4A_7C15
        let raw = (0..<32).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        return prefix + raw
    }
}
