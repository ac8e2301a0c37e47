/// What the milter knows of a message's origin and destination at RCPT, for the
/// suspicion score: no body, nothing Postfix does not already hand over.
public struct MessageSignals: Sendable, Equatable {
    /// The client's network; nil for the host itself (local sendmail, a process on
    /// the server) and for a missing or malformed `{client_addr}`.
    public var network: NetworkPrefix?
    /// Up to `sampleSize` recipients (exempt ones excluded); a message with more is
    /// judged on this sample, scaled.
    public var recipients: [RecipientFingerprint]
    /// Every non-exempt recipient of the message, sampled or not.
    public var recipientCount: Int

    public static let sampleSize = 32

    public init(network: NetworkPrefix? = nil, recipients: [RecipientFingerprint] = [], recipientCount: Int? = nil) {
        self.network = network
        self.recipients = recipients
        self.recipientCount = recipientCount ?? recipients.count
    }

    /// Adds a recipient (the glue calls this at each counted RCPT).
    public mutating func add(recipient raw: String) {
        recipientCount += 1
        if recipients.count < Self.sampleSize { recipients.append(RecipientFingerprint(recipient: raw)) }
    }
}
