/// What the milter knows of a message's origin and destination at RCPT, for the
/// suspicion score: no body, nothing Postfix does not already hand over.
public struct MessageSignals: Sendable {
    /// The client's network; nil for the host itself (local sendmail, a process on
    /// the server) and for a missing or malformed `{client_addr}`.
    public var network: NetworkPrefix?
    /// Up to `sampleSize` recipients (exempt ones excluded), inline: no allocation
    /// per message. A message with more is judged on this sample, scaled (the score
    /// counts at most `SuspicionWeights.recipientsCounted` strangers anyway).
    public private(set) var sample: InlineArray<8, RecipientFingerprint> =
        .init(repeating: RecipientFingerprint(address: 0, domain: 0))
    public private(set) var sampled = 0
    /// Every non-exempt recipient of the message, sampled or not.
    public var recipientCount: Int

    public static let sampleSize = 8

    public init(network: NetworkPrefix? = nil) {
        self.network = network
        self.recipientCount = 0
    }

    /// Adds a recipient (the glue calls this at each counted RCPT).
    public mutating func add(recipient raw: String) {
        recipientCount += 1
        if sampled < Self.sampleSize {
            sample[sampled] = RecipientFingerprint(recipient: raw)
            sampled += 1
        }
    }

}
