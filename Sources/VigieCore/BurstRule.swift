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
    public var recipients: Set<String> {
        didSet { recipientLengths = Self.lengths(recipients) }
    }
    /// The UTF-8 lengths of `recipients`, to turn most recipients away without work.
    private var recipientLengths: Set<Int>

    public init(accounts: Set<AccountName> = [], recipients: Set<String> = []) {
        self.accounts = accounts
        self.recipients = Set(recipients.map { $0.lowercased() })
        self.recipientLengths = Self.lengths(self.recipients)
    }

    private static func lengths(_ recipients: Set<String>) -> Set<Int> { Set(recipients.map(\.utf8.count)) }

    public func isExempt(recipient raw: String) -> Bool {
        if recipients.isEmpty { return false }
        let address = EnvelopeAddress.strip(raw)
        // Most recipients are not exempt and differ from every entry in length: a
        // byte count rejects them without lower-casing or hashing (every recipient of
        // every message comes through here).
        // (Lower-casing keeps the length of ASCII only: anything else takes the long way.)
        if address.utf8.allSatisfy({ $0 < 0x80 }) {
            let localLength = address.utf8.lastIndex(of: UInt8(ascii: "@")).map { address.utf8.distance(from: address.startIndex, to: $0) }
            guard recipientLengths.contains(address.utf8.count) || localLength.map(recipientLengths.contains) == true else { return false }
        }
        let lowered = address.lowercased()
        if recipients.contains(lowered) { return true }
        guard let at = lowered.utf8.lastIndex(of: UInt8(ascii: "@")) else { return false }
        return recipients.contains(String(lowered[..<at]))
    }
}
