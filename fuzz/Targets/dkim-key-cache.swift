import CDKIMKeyCache
import COpenSSL

/// The decoded-key cache under libopendkim (Sources/CDKIMKeyCache): the bytes of
/// every DKIM key record a signer's DNS returns reach it, as libopendkim decodes
/// them with d2i_PUBKEY_bio (this binary defines that symbol, as vigie does).
///
/// Input: up to 8 candidate keys (2-byte big-endian length, then the bytes), each
/// decoded through the cache twice and once by OpenSSL's own d2i_PUBKEY (the buffer
/// form, which the cache does not define).
///
/// Properties:
/// - the cache decodes exactly what OpenSSL decodes: nil for the same bytes, and
///   otherwise a key equal to OpenSSL's (EVP_PKEY_eq) whose DER is the same;
/// - a second decoding of the same bytes gives the same key, whatever was decoded
///   between (other keys, evictions);
/// - the table never holds more than its capacity.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDKIMKeyCache(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = Array(UnsafeBufferPointer(start: data, count: size))[...]
    var candidates: [[UInt8]] = []
    while candidates.count < 8, input.count >= 2 {
        let length = Int(input[input.startIndex]) << 8 | Int(input[input.startIndex + 1])
        input = input.dropFirst(2)
        candidates.append(Array(input.prefix(length)))
        input = input.dropFirst(length)
    }
    if candidates.isEmpty { candidates = [Array(input)] }

    var first: [OpaquePointer?] = []
    for bytes in candidates {
        let direct = decodeDirectly(bytes)
        let cached = decodeThroughCache(bytes)
        require((direct == nil) == (cached == nil), "the cache and OpenSSL disagree on whether \(bytes.count) bytes are a key")
        if let direct, let cached {
            require(EVP_PKEY_eq(direct, cached) == 1, "the cache gave another key for \(bytes.count) bytes")
            require(der(direct) == der(cached), "the cache's key encodes differently")
        }
        if let direct { EVP_PKEY_free(direct) }
        first.append(cached)
    }
    for (index, bytes) in candidates.enumerated() {
        let again = decodeThroughCache(bytes)
        require((again == nil) == (first[index] == nil), "a second decoding changed its mind")
        if let again, let earlier = first[index] {
            require(EVP_PKEY_eq(again, earlier) == 1, "a second decoding gave another key")
        }
        if let again { EVP_PKEY_free(again) }
        if let earlier = first[index] { EVP_PKEY_free(earlier) }
    }
    let stats = vigie_dkim_key_cache_statistics()
    require(Int(stats.entries) <= Int(VIGIE_DKIM_KEY_CACHE_CAPACITY), "the table outgrew its capacity")
    ERR_clear_error()
    return 0
}

private func decodeThroughCache(_ bytes: [UInt8]) -> OpaquePointer? {
    bytes.withUnsafeBytes { raw -> OpaquePointer? in
        guard let bio = BIO_new_mem_buf(raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count)) else { return nil }
        defer { BIO_free(bio) }
        return d2i_PUBKEY_bio(bio, nil)
    }
}

private func decodeDirectly(_ bytes: [UInt8]) -> OpaquePointer? {
    bytes.withUnsafeBufferPointer { buffer -> OpaquePointer? in
        var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
        guard cursor != nil else { return nil }
        return d2i_PUBKEY(nil, &cursor, buffer.count)
    }
}

private func der(_ key: OpaquePointer) -> [UInt8] {
    var out: UnsafeMutablePointer<UInt8>? = nil
    let length = i2d_PUBKEY(key, &out)
    guard length > 0, let out else { return [] }
    defer { CRYPTO_free(out, #file, #line) }
    return Array(UnsafeBufferPointer(start: out, count: Int(length)))
}
