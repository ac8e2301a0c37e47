/// The DNS record types SPF and DKIM ask for (RFC 1035, 3596, 7208).
public enum DNSRecordType: UInt16, Sendable, Hashable, CustomStringConvertible {
    case a = 1          // ns_t_a
    case ns = 2         // ns_t_ns
    case cname = 5      // ns_t_cname
    case ptr = 12       // ns_t_ptr
    case mx = 15        // ns_t_mx
    case txt = 16       // ns_t_txt
    case aaaa = 28      // ns_t_aaaa
    case spf = 99       // ns_t_spf (obsolete, RFC 7208 §3.1; libspf2 may still ask)

    public var description: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .ptr: "PTR"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .spf: "SPF"
        }
    }
}

/// One record's data, decoded for the types Vigie reads.
public enum DNSRecordData: Sendable, Hashable {
    case ipv4([UInt8])                 // 4 bytes, network order
    case ipv6([UInt8])                 // 16 bytes, network order
    case domainName(String)            // NS, CNAME, PTR
    case mx(preference: UInt16, exchange: String)
    /// TXT: the character-strings in order (RFC 7208 §3.3: concatenate them).
    case text([[UInt8]])
    case other([UInt8])
}

public struct DNSRecord: Sendable, Hashable {
    public var name: String
    public var type: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData
}

/// RCODE of a response (RFC 1035 §4.1.1).
public enum DNSResponseCode: Sendable, Hashable {
    case noError, formatError, serverFailure, nameError, notImplemented, refused, other(UInt8)

    init(_ raw: UInt8) {
        switch raw {
        case 0: self = .noError
        case 1: self = .formatError
        case 2: self = .serverFailure
        case 3: self = .nameError
        case 4: self = .notImplemented
        case 5: self = .refused
        default: self = .other(raw)
        }
    }
}

/// A usable answer: the name exists and has records of the type (possibly none:
/// NODATA), or does not exist (NXDOMAIN). Both are facts that SPF and DKIM judge;
/// only `DNSFailure` is "could not tell" (temperror).
public struct DNSAnswer: Sendable {
    public enum Status: Sendable, Hashable { case records, noData, nameDoesNotExist }
    public var status: Status
    /// Answer-section records of the type asked (after any CNAME chain).
    public var records: [DNSRecord]
    /// The response exactly as the server sent it: libopendkim parses wire format.
    public var wire: [UInt8]
    /// Seconds this answer stays in the cache.
    public var ttl: UInt32
}

/// Why a lookup gave no usable answer. SPF and DKIM turn every case into temperror.
public enum DNSFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// No server answered before the deadline.
    case timedOut
    /// The server answered SERVFAIL, REFUSED or another error code.
    case serverError(String)
    /// The answer could not be parsed, or did not match the question.
    case malformedResponse(String)
    /// The question itself is not a valid DNS name (e.g. a HELO with spaces).
    case invalidName(String)
    /// The network said no (no route, connection refused...).
    case network(String)
    /// No nameserver is configured.
    case noNameserver

    public var description: String {
        switch self {
        case .timedOut: "DNS timeout"
        case .serverError(let s): "DNS server error: \(s)"
        case .malformedResponse(let s): "malformed DNS response: \(s)"
        case .invalidName(let s): "invalid DNS name: \(s)"
        case .network(let s): "DNS network error: \(s)"
        case .noNameserver: "no nameserver configured"
        }
    }
}
