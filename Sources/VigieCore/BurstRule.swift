/// When an account is sending like a stolen password rather than a person.
///
/// Two independent signals, either one locks:
/// - volume: more than `messages` accepted messages, or more than `recipients`
///   accepted recipients, within `window`;
/// - persistence: `refusalsInARow` attempts refused for a limit with no accepted
///   message in between. A person stops after a refusal; a script keeps going.
public struct BurstRule: Sendable, Equatable {
    public var messages: Int?
    public var recipients: Int?
    public var window: Duration
    public var refusalsInARow: Int?

    public init(messages: Int?, recipients: Int?, window: Duration, refusalsInARow: Int?) {
        self.messages = messages
        self.recipients = recipients
        self.window = window
        self.refusalsInARow = refusalsInARow
    }

    public static let disabled = BurstRule(messages: nil, recipients: nil, window: .seconds(600), refusalsInARow: nil)
}

/// Who and what never count.
public struct Exemptions: Sendable, Equatable {
    /// Accounts never limited nor locked automatically (system senders such as root).
    public var accounts: Set<AccountName>
    /// Recipients that must stay reachable: a bare local part (`postmaster`) matches
    /// at every domain, a full address matches itself. Case-insensitive.
    public var recipients: Set<String>

    public init(accounts: Set<AccountName> = [], recipients: Set<String> = []) {
        self.accounts = accounts
        self.recipients = Set(recipients.map { $0.lowercased() })
    }

    public func isExempt(recipient raw: String) -> Bool {
        if recipients.isEmpty { return false }
        let address = EnvelopeAddress.strip(raw).lowercased()
        if recipients.contains(address) { return true }
        guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")) else { return false }
        return recipients.contains(String(address[..<at]))
    }
}
