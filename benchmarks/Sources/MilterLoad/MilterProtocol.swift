// The MTA side of the milter protocol, version 6, as Postfix's milter8.c speaks it.
// Constants keep their C names (libmilter's mfdef.h) in trailing comments.

/// Commands the MTA sends.
enum Command: UInt8 {
    case abort = 0x41       // 'A' SMFIC_ABORT
    case body = 0x42        // 'B' SMFIC_BODY
    case connect = 0x43     // 'C' SMFIC_CONNECT
    case macro = 0x44       // 'D' SMFIC_MACRO
    case endOfMessage = 0x45  // 'E' SMFIC_BODYEOB
    case helo = 0x48        // 'H' SMFIC_HELO
    case quitNewConnection = 0x4B  // 'K' SMFIC_QUIT_NC
    case header = 0x4C      // 'L' SMFIC_HEADER
    case mail = 0x4D        // 'M' SMFIC_MAIL
    case endOfHeaders = 0x4E  // 'N' SMFIC_EOH
    case optionNegotiation = 0x4F  // 'O' SMFIC_OPTNEG
    case quit = 0x51        // 'Q' SMFIC_QUIT
    case recipient = 0x52   // 'R' SMFIC_RCPT
    case data = 0x54        // 'T' SMFIC_DATA
}

/// Protocol flags: stages the milter does not want (NO*) or will not answer (NR_*).
struct ProtocolFlags: OptionSet, CustomStringConvertible {
    let rawValue: UInt32
    static let noConnect = ProtocolFlags(rawValue: 0x1)        // SMFIP_NOCONNECT
    static let noHelo = ProtocolFlags(rawValue: 0x2)           // SMFIP_NOHELO
    static let noMail = ProtocolFlags(rawValue: 0x4)           // SMFIP_NOMAIL
    static let noRcpt = ProtocolFlags(rawValue: 0x8)           // SMFIP_NORCPT
    static let noBody = ProtocolFlags(rawValue: 0x10)          // SMFIP_NOBODY
    static let noHeaders = ProtocolFlags(rawValue: 0x20)       // SMFIP_NOHDRS
    static let noEOH = ProtocolFlags(rawValue: 0x40)           // SMFIP_NOEOH
    static let noReplyHeader = ProtocolFlags(rawValue: 0x80)   // SMFIP_NR_HDR
    static let noUnknown = ProtocolFlags(rawValue: 0x100)      // SMFIP_NOUNKNOWN
    static let noData = ProtocolFlags(rawValue: 0x200)         // SMFIP_NODATA
    static let skip = ProtocolFlags(rawValue: 0x400)           // SMFIP_SKIP
    static let rcptRejected = ProtocolFlags(rawValue: 0x800)   // SMFIP_RCPT_REJ
    static let noReplyConnect = ProtocolFlags(rawValue: 0x1000)  // SMFIP_NR_CONN
    static let noReplyHelo = ProtocolFlags(rawValue: 0x2000)   // SMFIP_NR_HELO
    static let noReplyMail = ProtocolFlags(rawValue: 0x4000)   // SMFIP_NR_MAIL
    static let noReplyRcpt = ProtocolFlags(rawValue: 0x8000)   // SMFIP_NR_RCPT
    static let noReplyData = ProtocolFlags(rawValue: 0x10000)  // SMFIP_NR_DATA
    static let noReplyUnknown = ProtocolFlags(rawValue: 0x20000)  // SMFIP_NR_UNKN
    static let noReplyEOH = ProtocolFlags(rawValue: 0x40000)   // SMFIP_NR_EOH
    static let noReplyBody = ProtocolFlags(rawValue: 0x80000)  // SMFIP_NR_BODY
    static let headerLeadingSpace = ProtocolFlags(rawValue: 0x100000)  // SMFIP_HDR_LEADSPC

    /// What this MTA offers: every stage flag and every no-reply flag (as Postfix 3.x),
    /// but not HDR_LEADSPC (Postfix offers it; our headers never start with a space).
    static let offered = ProtocolFlags(rawValue: 0x000F_FFFF)

    var description: String {
        let names: [(ProtocolFlags, String)] = [
            (.noConnect, "NOCONNECT"), (.noHelo, "NOHELO"), (.noMail, "NOMAIL"), (.noRcpt, "NORCPT"),
            (.noBody, "NOBODY"), (.noHeaders, "NOHDRS"), (.noEOH, "NOEOH"), (.noReplyHeader, "NR_HDR"),
            (.noUnknown, "NOUNKNOWN"), (.noData, "NODATA"), (.skip, "SKIP"), (.rcptRejected, "RCPT_REJ"),
            (.noReplyConnect, "NR_CONN"), (.noReplyHelo, "NR_HELO"), (.noReplyMail, "NR_MAIL"),
            (.noReplyRcpt, "NR_RCPT"), (.noReplyData, "NR_DATA"), (.noReplyUnknown, "NR_UNKN"),
            (.noReplyEOH, "NR_EOH"), (.noReplyBody, "NR_BODY"), (.headerLeadingSpace, "HDR_LEADSPC"),
        ]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: "|")
    }
}

/// Macro stages, as `smfi_setsymlist` numbers them, with the command letter that
/// carries their macros.
enum MacroStage: UInt32, CaseIterable {
    case connect = 0, helo, envelopeFrom, envelopeRecipient, data, endOfMessage, endOfHeaders  // SMFIM_*

    var command: Command {
        switch self {
        case .connect: .connect
        case .helo: .helo
        case .envelopeFrom: .mail
        case .envelopeRecipient: .recipient
        case .data: .data
        case .endOfMessage: .endOfMessage
        case .endOfHeaders: .endOfHeaders
        }
    }

    /// Postfix 3.7's default macro lists (milter_*_macros), restricted to those that
    /// have a value in an authenticated submission without TLS.
    var postfixDefaults: [String] {
        switch self {
        case .connect: ["j", "{daemon_name}", "{daemon_addr}", "v", "_"]
        case .helo: []
        case .envelopeFrom: ["{auth_type}", "{auth_authen}", "{mail_addr}", "{mail_host}", "{mail_mailer}"]
        case .envelopeRecipient: ["{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"]
        case .data, .endOfMessage, .endOfHeaders: ["i"]
        }
    }
}

/// Replies the milter sends.
enum Reply {
    static let accept: UInt8 = 0x61        // 'a' SMFIR_ACCEPT
    static let `continue`: UInt8 = 0x63    // 'c' SMFIR_CONTINUE
    static let discard: UInt8 = 0x64       // 'd' SMFIR_DISCARD
    static let reject: UInt8 = 0x72        // 'r' SMFIR_REJECT
    static let tempfail: UInt8 = 0x74      // 't' SMFIR_TEMPFAIL
    static let replyCode: UInt8 = 0x79     // 'y' SMFIR_REPLYCODE
    static let skip: UInt8 = 0x73          // 's' SMFIR_SKIP
    static let progress: UInt8 = 0x70      // 'p' SMFIR_PROGRESS
    static let optionNegotiation: UInt8 = 0x4F  // 'O' SMFIC_OPTNEG
    static let connectionFail: UInt8 = 0x66  // 'f' SMFIR_CONN_FAIL
    static let shutdown: UInt8 = 0x34      // '4' SMFIR_SHUTDOWN

    static func isFinal(_ code: UInt8) -> Bool {
        [accept, `continue`, discard, reject, tempfail, replyCode, connectionFail, shutdown].contains(code)
    }

    static func name(_ code: UInt8) -> String {
        switch code {
        case accept: "accept"
        case `continue`: "continue"
        case discard: "discard"
        case reject: "reject"
        case tempfail: "tempfail"
        case replyCode: "replycode"
        case skip: "skip"
        case connectionFail: "conn_fail"
        case shutdown: "shutdown"
        default: String(UnicodeScalar(code))
        }
    }
}

/// One packet: 4-byte big-endian length (command byte included), command, data.
struct PacketWriter {
    var bytes: [UInt8] = []
    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func packet(_ command: Command, _ build: (inout [UInt8]) -> Void = { _ in }) {
        let start = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0, command.rawValue])
        build(&bytes)
        let length = UInt32(bytes.count - start - 4)
        bytes[start] = UInt8(length >> 24)
        bytes[start + 1] = UInt8((length >> 16) & 0xFF)
        bytes[start + 2] = UInt8((length >> 8) & 0xFF)
        bytes[start + 3] = UInt8(length & 0xFF)
    }
}

extension Array where Element == UInt8 {
    mutating func appendCString(_ text: String) {
        append(contentsOf: text.utf8)
        append(0)
    }
    mutating func appendUInt32(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
    mutating func appendUInt16(_ value: UInt16) {
        append(contentsOf: [UInt8(value >> 8), UInt8(value & 0xFF)])
    }
    func uint32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
