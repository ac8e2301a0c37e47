import VigieReply
/// The one table from refusal class to SMTP status, like Postfix's `sys_exits.c`.
///
/// Over SMTP an over-limit refusal is temporary (450/452): the member's client keeps
/// the message and retries, nothing is lost. On the local path every refusal is a
/// 550 at end of message, so Postfix bounces the message with the notice in it.
public enum ReplyTable {
    public enum RefusalClass: Sendable {
        case overWindowLimit
        case tooManyRecipients
        case locked
    }

    public static func status(_ refusal: RefusalClass, path: SubmissionPath) -> (code: String, enhancedCode: String) {
        switch (refusal, path) {
        case (.overWindowLimit, .smtp), (.overWindowLimit, .relay): ("450", "4.7.1")
        case (.tooManyRecipients, .smtp), (.tooManyRecipients, .relay): ("452", "4.5.3")
        case (.locked, .smtp), (.locked, .relay): ("550", "5.7.1")
        case (.overWindowLimit, .local): ("550", "5.7.1")
        case (.tooManyRecipients, .local): ("550", "5.5.3")
        case (.locked, .local): ("550", "5.7.1")
        }
    }

    /// Reply for an authenticated login Vigie cannot turn into an account name
    /// (`UnusableLogin`): temporary, so the client keeps the message while the admin
    /// looks at the log line, and nothing unjudged goes out in the meantime.
    public static let unusableLoginSMTP = SMTPReply(
        code: "451", enhancedCode: "4.7.1",
        lines: ["Your login cannot be used as an account name here; please contact the postmaster"])

    /// Reply for an internal error over SMTP: the client retries later.
    public static let internalErrorSMTP = SMTPReply(
        code: "451", enhancedCode: "4.3.0", lines: ["Temporary local problem, please try again later"])
}
