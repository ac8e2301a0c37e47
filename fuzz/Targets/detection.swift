#if canImport(Glibc)
import Glibc
#endif
@testable import VigieCore

/// Detection's parsers (issue 10): `{client_addr}` from Postfix
/// (Sources/VigieCore/NetworkPrefix.swift), recipients from the SMTP client
/// (RecipientFingerprint.swift), and sending histories read back from the state
/// file (SendingHistory+Snapshot.swift).
///
/// Properties:
/// - a client address parses exactly when libc's `inet_pton` accepts it (less the
///   host's own addresses and 0.0.0.0/8), to the same /24 or /48; its printed network parses back
///   to it, and its raw word too;
/// - a recipient's fingerprint is its definition (strip, fold ASCII case, FNV-1a of
///   the address and of what follows its last @);
/// - a stored history decodes only to something that encodes to the same bytes,
///   and scoring any message on it keeps the score a finite number ≥ 0.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDetection(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    switch input.byte() % 3 {
    case 0: clientAddress(String(decoding: input.rest(), as: UTF8.self))
    case 1: recipient(String(decoding: input.rest(), as: UTF8.self))
    default: history(&input)
    }
    return 0
}

private func clientAddress(_ text: String) {
    let parsed = NetworkPrefix(clientAddress: text)
    if let parsed {
        require(NetworkPrefix(networkText: parsed.description) == parsed, "\(text.debugDescription) -> \(parsed) does not parse back")
        require(NetworkPrefix(raw: parsed.raw) == parsed, "raw word of \(parsed)")
    }
    // libc's opinion, on the text without Postfix's "IPv6:" tag.
    let bare = text.hasPrefix("IPv6:") ? String(text.dropFirst(5)) : text
    guard !bare.utf8.contains(0), text.utf8.count <= 64 else { return }
    var v4 = in_addr()
    var v6 = in6_addr()
    if inet_pton(AF_INET, bare, &v4) == 1 {
        let address = UInt32(bigEndian: v4.s_addr)
        let isHost = address >> 24 == 127 || address >> 24 == 0
        require(isHost ? parsed == nil : parsed == NetworkPrefix(ipv4: address), "\(text.debugDescription): libc \(address), ours \(String(describing: parsed))")
    } else if inet_pton(AF_INET6, bare, &v6) == 1 {
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let expected: NetworkPrefix?
        if high >> 16 != 0 {
            expected = NetworkPrefix(ipv6High64: high)
        } else if high == 0, low >> 32 == 0xFFFF, UInt32(truncatingIfNeeded: low) >> 24 != 127, UInt32(truncatingIfNeeded: low) >> 24 != 0 {
            expected = NetworkPrefix(ipv4: UInt32(truncatingIfNeeded: low))
        } else {
            expected = nil
        }
        require(parsed == expected, "\(text.debugDescription): libc \(String(describing: expected)), ours \(String(describing: parsed))")
    } else {
        require(parsed == nil, "\(text.debugDescription) parsed to \(String(describing: parsed)) but libc refuses it")
    }
}

private func recipient(_ text: String) {
    let address = Array(EnvelopeAddress.strip(text).utf8).map { (65...90).contains($0) ? $0 | 0x20 : $0 }
    func fnv(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(RecipientFingerprint.offsetBasis) { ($0 ^ UInt64($1)) &* RecipientFingerprint.prime }
    }
    let domain = address.lastIndex(of: UInt8(ascii: "@")).map { address[($0 + 1)...] } ?? []
    let expected = RecipientFingerprint(address: RecipientFingerprint.mix(fnv(address[...])),
                                        domain: RecipientFingerprint.mix(fnv(domain) ^ 0x5EED_D0A1_05A1_7000))
    require(RecipientFingerprint(recipient: text) == expected, "fingerprint of \(text.debugDescription)")
}

private func history(_ input: inout FuzzInput) {
    var bytes: [UInt8] = []
    for _ in 0..<SendingHistory.snapshotSize { bytes.append(input.byte()) }
    guard var history = SendingHistory(snapshot: bytes) else { return }
    require(history.snapshot() == bytes, "a decoded history encodes to other bytes")
    let settings = DetectionSettings()
    var now = Int64(input.byte()) * 3_600_000 * 24 + 1_772_409_600_000
    while !input.isAtEnd {
        var signals = MessageSignals(network: NetworkPrefix(clientAddress: "\(input.byte()).\(input.byte()).\(input.byte()).1"))
        for _ in 0..<(input.byte() % 10) { signals.add(recipient: "r\(input.byte())@d\(input.byte() % 4).example") }
        now += Int64(input.byte()) * 60_000
        let observed = history.observe(signals, now: now, watch: 60, lock: 100, settings: settings)
        require(history.score.isFinite && history.score >= 0, "score \(history.score)")
        require(observed.assessment.points.isFinite && observed.assessment.points >= 0, "points \(observed.assessment.points)")
        require(SendingHistory(snapshot: history.snapshot()) == history, "an observed history does not round-trip")
    }
}
