import VigieCrypto

/// The SRS hash: HMAC-SHA1 over the lower-cased fields, the first bits of the digest
/// written in base64 (libsrs2's `srs_hash_create_v`).
enum SRSHash {
    static let base64 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let base64url = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The first `length` base64 characters of HMAC(key, lower(fields) concatenated).
    static func create(key: HMACKey, fields: [ArraySlice<UInt8>], length: Int, encoding: SRSHashEncoding) throws(CryptoError) -> [UInt8] {
        let digest = try key.authenticationCode(over: fields.map { ASCII.lowercased($0) })
        let alphabet = encoding == .base64 ? base64 : base64url
        var output: [UInt8] = []
        output.reserveCapacity(length)
        // Base64 of the digest, 6 bits per character, as far as `length` goes.
        var bitBuffer: UInt32 = 0
        var bits = 0
        var index = 0
        while output.count < length {
            if bits < 6 {
                let byte = index < digest.count ? digest[index] : 0
                index += 1
                bitBuffer = (bitBuffer << 8) | UInt32(byte)
                bits += 8
            }
            bits -= 6
            output.append(alphabet[Int((bitBuffer >> UInt32(bits)) & 0x3F)])
        }
        return output
    }

    /// A hash as compared: ASCII lower-cased, `+` as `-`, `/` as `_` (so base64 and
    /// base64url hashes in any case compare equal, like postsrsd 2.x).
    static func normalized(_ hash: some Collection<UInt8>) -> [UInt8] {
        hash.map { byte in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            default: ASCII.lower(byte)
            }
        }
    }

    /// True when `given` matches the hash any key makes over `fields`. Every key is
    /// tried (no early exit on a match position) and each comparison is constant-time.
    static func verify(_ given: ArraySlice<UInt8>, keys: [HMACKey], fields: [ArraySlice<UInt8>], configuration: SRSConfiguration) throws(CryptoError) -> Bool {
        guard given.count >= configuration.minimumHashLength, given.count <= configuration.hashLength else { return false }
        let wanted = normalized(given)
        var matched = false
        for key in keys {
            let hash = try create(key: key, fields: fields, length: configuration.hashLength, encoding: .base64url)
            if ConstantTime.equals(normalized(hash.prefix(given.count)), wanted) { matched = true }
        }
        return matched
    }
}

/// The two-character day stamp: days since 1970 modulo 1024, in base32 (libsrs2's
/// `srs_timestamp_create` / `srs_timestamp_check`).
enum SRSTimestamp {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    static let slots = 1024

    static func day(_ now: Int64) -> Int { Int((now / 86_400) % Int64(slots)) }

    static func create(now: Int64) -> [UInt8] {
        let day = day(now)
        return [alphabet[(day >> 5) & 31], alphabet[day & 31]]
    }

    /// The day a stamp encodes, or nil if it is not two base32 characters (any case).
    static func decode(_ stamp: ArraySlice<UInt8>) -> Int? {
        guard stamp.count == 2 else { return nil }
        var value = 0
        for byte in stamp {
            guard let index = alphabet.firstIndex(of: ASCII.upper(byte)) else { return nil }
            value = (value << 5) | index
        }
        return value
    }

    /// Days since the stamp's day (0 ... 1023); a stamp "in the future" reads as about
    /// 1023 days old, i.e. expired, as in libsrs2.
    static func age(ofDay then: Int, now: Int64) -> Int {
        var today = day(now)
        while today < then { today += slots }
        return today - then
    }
}

/// ASCII-only case mapping: libsrs2 lower-cases with the C locale, so UTF-8 bytes of
/// an international address are hashed as they are.
enum ASCII {
    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    @inline(__always) static func upper(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
    }

    static func lowercased(_ bytes: some Collection<UInt8>) -> [UInt8] { bytes.map(lower) }

    static func equalIgnoringCase(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { lower($0) == lower($1) }
    }
}
