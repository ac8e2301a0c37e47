import VigieCrypto
@testable import VigieSRS

/// SRS addresses forward and reverse (Sources/VigieSRS/SRSCodec.swift): senders come
/// from any SMTP client, SRS recipients from anyone who sends a bounce.
///
/// Properties:
/// - a sender that is rewritten reverses to the original (in its external form), on
///   the issue day and `maximumAgeDays` later; one day more and it is expired;
/// - a rewritten address has a local part of at most 64 octets and is itself left
///   alone by a second forward (no SRS0 of an SRS0 of this host);
/// - an SRS1 forward of another host's SRS0 reverses to that SRS0 address;
/// - reversing any bytes gives an outcome, and an `.original` is a usable address.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSRS(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let choice = input.byte()
    let now = Int64(1_700_000_000) + Int64(input.byte()) * 7 * 86_400 + Int64(input.byte()) * 331
    let address = input.rest()
    let configuration = SRSConfiguration(domain: "srs.example.org", excludedDomains: [".excluded.example"],
                                         hashEncoding: choice & 1 == 0 ? .base64url : .base64)
    let codec = SRSCodec(configuration: configuration, secrets: FuzzSRSKeys.secrets)
    do {
        if choice & 2 == 0 {
            try checkForward(codec, address, now: now)
        } else if case .original(let original) = try codec.reverse(address, now: now) {
            require(MailAddress(original) != nil, "reverse of \(address) gave \(original.debugDescription), not an address")
        }
    } catch {
        fatalError("HMAC failed: \(error)")
    }
    return 0
}

private func checkForward(_ codec: SRSCodec, _ sender: [UInt8], now: Int64) throws(CryptoError) {
    guard case .rewritten(let rewritten) = try codec.forward(sender, now: now) else { return }
    // String(decoding:) repairs invalid UTF-8, so only valid UTF-8 can come back whole.
    guard sender.isValidUTF8, let parsed = MailAddress(sender) else {
        require(MailAddress(sender) != nil, "rewrote a non-address \(sender)")
        return
    }
    let local = Array(rewritten.utf8[..<rewritten.utf8.lastIndex(of: UInt8(ascii: "@"))!])
    require(local.count <= 64, "local part of \(local.count) octets: \(rewritten)")

    let expected: String
    switch SRSCodec.tag(of: parsed.localPart) {
    case nil: expected = parsed.externalString
    case .srs0:
        // SRS1 keeps the other host's SRS0 whole (its tag is written back as "SRS0").
        expected = MailAddress(localPart: Array("SRS0".utf8) + parsed.localPart.dropFirst(4), domain: parsed.domain).externalString
    case .srs1:
        // Re-signed for its first forwarder: reverses to that forwarder, not to us.
        guard case .original = try codec.reverse(rewritten, now: now) else {
            fatalError("SRS1 rewrite \(rewritten) does not reverse")
        }
        return
    }
    let back = try codec.reverse(rewritten, now: now)
    require(back == .original(expected), "\(parsed.externalString.debugDescription) -> \(rewritten) -> \(back)")
    let maximumAge = Int64(codec.configuration.maximumAgeDays)
    let late = try codec.reverse(rewritten, now: now + maximumAge * 86_400)
    require(late == .original(expected), "not valid \(maximumAge) days later: \(rewritten) -> \(late)")
    if SRSCodec.tag(of: parsed.localPart) == nil {
        let expired = try codec.reverse(rewritten, now: now + (maximumAge + 1) * 86_400)
        guard case .refused(.expired) = expired else { fatalError("still valid a day too late: \(rewritten) -> \(expired)") }
    }
    let twice = try codec.forward(rewritten, now: now)
    require(twice == .unchanged(.srsDomain), "forwarded again: \(rewritten) -> \(twice)")
}

/// Keys are made once: HMACKey sets up an OpenSSL context, and a fuzz run makes
/// millions of calls.
enum FuzzSRSKeys {
    static let secrets = try! SRSSecrets(secrets: ["fuzzing secret one", "an older secret"])
}
