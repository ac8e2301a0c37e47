internal import COpenDKIM
import VigieDNS

/// libopendkim's DNS hooks (`dkim_dns_set_query_*`) answered by Vigie's
/// `DNSResolver`: libopendkim's built-in resolver shares one `res_state` across
/// threads without a lock (POSTFIX-NOTES), ours is thread-safe and shared with SPF.
///
/// The resolver is synchronous, so `query_start` does the whole lookup and the
/// query "handle" carries the outcome itself, packed into the pointer bits:
/// nothing is allocated per query, so nothing can leak if libopendkim never calls
/// `query_cancel`.
enum DKIMDNSHooks {
    static func install(on library: OpaquePointer, resolver: Unmanaged<DNSResolver>) {
        // No init: the service is set here, so libopendkim never builds its resolver.
        dkim_dns_set_init(library, nil)
        dkim_dns_set_close(library, { _ in })
        _ = dkim_dns_set_query_service(library, resolver.toOpaque())
        dkim_dns_set_query_start(library, queryStart)
        dkim_dns_set_query_waitreply(library, waitReply)
        dkim_dns_set_query_cancel(library, { _, _ in DKIM_DNS_SUCCESS })
    }

    private enum Outcome: Int { case answered = 0, failed = 1, timedOut = 2 }

    private static func handle(_ outcome: Outcome, length: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: (length << 3) | (outcome.rawValue << 1) | 1)!
    }

    /// An NXDOMAIN reply for a name that cannot be asked at all (a selector with
    /// spaces, say): libopendkim then reports "no key" (permerror), not a DNS
    /// failure (temperror), which is the truth. Its question is `invalid.` TXT.
    private static let syntheticNameError: [UInt8] =
        [0, 0, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0, 7] + Array("invalid".utf8) + [0, 0, 16, 0, 1]

    private static let queryStart: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UInt8>?,
                                                   UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 = {
        service, type, name, buffer, bufferLength, queryHandle in
        guard let service, let name, let buffer, let queryHandle,
              let recordType = DNSRecordType(rawValue: UInt16(truncatingIfNeeded: type)) else { return DKIM_DNS_ERROR }
        let resolver = Unmanaged<DNSResolver>.fromOpaque(service).takeUnretainedValue()
        let wire: [UInt8]
        switch resolver.lookup(String(cString: UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self)), recordType) {
        case .success(let answer):
            wire = answer.wire
        case .failure(.invalidName):
            wire = syntheticNameError
        case .failure(.timedOut):
            queryHandle.pointee = handle(.timedOut, length: 0)
            return DKIM_DNS_SUCCESS
        case .failure:
            queryHandle.pointee = handle(.failed, length: 0)
            return DKIM_DNS_SUCCESS
        }
        // A reply larger than libopendkim's buffer would be cut and misparsed. It
        // fails the lookup, and the verdict is made permanent (DKIMOversizedKeys).
        guard wire.count <= bufferLength else {
            DKIMOversizedKeys.current?.record(String(cString: UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self)),
                                              bytes: wire.count, limit: bufferLength)
            queryHandle.pointee = handle(.failed, length: 0)
            return DKIM_DNS_SUCCESS
        }
        wire.withUnsafeBytes { buffer.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: wire.count) }
        queryHandle.pointee = handle(.answered, length: wire.count)
        return DKIM_DNS_SUCCESS
    }

    private static let waitReply: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<timeval>?,
                                                  UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Int32 = {
        _, queryHandle, _, length, error, dnssec in
        let bits = Int(bitPattern: queryHandle)
        dnssec?.pointee = DKIM_DNSSEC_UNKNOWN
        error?.pointee = 0
        switch Outcome(rawValue: (bits >> 1) & 0x3) {
        case .answered:
            length?.pointee = bits >> 3
            return DKIM_DNS_SUCCESS
        case .timedOut:
            return DKIM_DNS_EXPIRED
        default:
            return DKIM_DNS_ERROR
        }
    }
}
