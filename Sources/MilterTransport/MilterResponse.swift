import VigieReply

/// What a milter callback answers, with an optional custom SMTP reply.
public enum MilterResponse: Sendable, Equatable {
    /// Go on with the transaction (`SMFIS_CONTINUE`).
    case `continue`
    /// Accept the message and stop calling this milter for it (`SMFIS_ACCEPT`).
    case accept
    /// Refuse with a 5xx (`SMFIS_REJECT`).
    case reject(SMTPReply?)
    /// Refuse with a 4xx (`SMFIS_TEMPFAIL`).
    case tempfail(SMTPReply?)
}

/// A reply as libmilter must be given it, and only here: `%` doubled (libmilter
/// hands the text to a printf-style format, and Postfix drops a single `%`), each
/// line cut to libmilter's 980 bytes after the doubling, on a character boundary, and
/// at most 32 lines (`smfi_setmlreply`'s limit). The policy's `SMTPReply` knows none
/// of this.
public enum MilterReplyEncoding {
    public static let maximumLines = 32
    public static let maximumLineBytes = 980

    public static func lines(of reply: SMTPReply) -> [String] {
        let lines = reply.lines.isEmpty ? [""] : Array(reply.lines.prefix(maximumLines))
        return lines.map(escapedLine)
    }

    static func escapedLine(_ line: String) -> String {
        guard line.utf8.contains(UInt8(ascii: "%")) || line.utf8.count > maximumLineBytes else { return line }
        var out = ""
        var bytes = 0
        for character in line {
            let piece = character == "%" ? "%%" : String(character)
            let size = piece.utf8.count
            if bytes + size > maximumLineBytes { break }
            out += piece
            bytes += size
        }
        return out
    }
}
