/// What a milter callback answers, with an optional custom SMTP reply.
public enum MilterResponse: Sendable, Equatable {
    /// Go on with the transaction (`SMFIS_CONTINUE`).
    case `continue`
    /// Accept the message and stop calling this milter for it (`SMFIS_ACCEPT`).
    case accept
    /// Refuse with a 5xx (`SMFIS_REJECT`).
    case reject(MilterReplyText?)
    /// Refuse with a 4xx (`SMFIS_TEMPFAIL`).
    case tempfail(MilterReplyText?)
}

/// The reply text sent through `smfi_setreply` / `smfi_setmlreply`. The caller is
/// responsible for the text being safe (no CR/LF, `%` doubled, ≤ 32 lines).
public struct MilterReplyText: Sendable, Equatable {
    public var code: String
    public var enhancedCode: String
    public var lines: [String]

    public init(code: String, enhancedCode: String, lines: [String]) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines
    }
}
