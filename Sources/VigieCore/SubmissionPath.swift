/// How a member's message reached Postfix, which decides how a refusal is said.
public enum SubmissionPath: String, Sendable, Codable {
    /// Authenticated SMTP submission: the client shows the SMTP reply.
    case smtp
    /// Local sendmail(1) through pickup and cleanup: only a 5xx at end of message
    /// reaches the member, as a bounce (a 4xx would leave the mail stuck forever).
    case local
    /// Unauthenticated SMTP from the host itself (a web application, a script) on
    /// the dedicated relay listener (`identity.relay_daemon_name`): counted against
    /// the envelope sender's local part, refused over SMTP like `smtp`.
    case relay

    /// Whether the client reads an SMTP reply at RCPT (and a 4xx makes it retry).
    public var repliesOverSMTP: Bool { self != .local }
}
