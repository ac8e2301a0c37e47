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
        didSet { asciiRecipients = Self.asciiEntries(recipients) }
    }
    /// `recipients` as bytes when every one is ASCII and they are few (postmaster,
    /// abuse): compared byte by byte, without lower-casing or hashing the recipient
    /// (every recipient of every message comes through here). nil: the Set is used.
    private var asciiRecipients: [[UInt8]]?

    public init(accounts: Set<AccountName> = [], recipients: Set<String> = []) {
        self.accounts = accounts
        self.recipients = Set(recipients.map { $0.lowercased() })
        self.asciiRecipients = Self.asciiEntries(self.recipients)
    }

    private static func asciiEntries(_ recipients: Set<String>) -> [[UInt8]]? {
        guard recipients.count <= 16, recipients.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) else { return nil }
        return recipients.sorted().map { Array($0.utf8) }
    }

    public func isExempt(recipient raw: String) -> Bool {
        if recipients.isEmpty { return false }
        if let entries = asciiRecipients {
            // Stripped as bytes, in place: `EnvelopeAddress.strip` makes a new String of
            // every `<address>` that RCPT carries (an allocation per recipient).
            var raw = raw
            if let answer = raw.withUTF8({ Self.matches(Self.stripped($0), entries) }) { return answer }
        }
        let lowered = EnvelopeAddress.strip(raw).lowercased()
        if recipients.contains(lowered) { return true }
        guard let at = lowered.utf8.lastIndex(of: UInt8(ascii: "@")) else { return false }
        return recipients.contains(String(lowered[..<at]))
    }

    /// `EnvelopeAddress.strip` on bytes: blanks, then one `<` and one `>`, then blanks.
    private static func stripped(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = 0, end = bytes.count
        func trim() {
            while start < end, isBlank(bytes[start]) { start += 1 }
            while start < end, isBlank(bytes[end - 1]) { end -= 1 }
        }
        trim()
        if start < end, bytes[start] == UInt8(ascii: "<") { start += 1 }
        if start < end, bytes[end - 1] == UInt8(ascii: ">") { end -= 1 }
        trim()
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    /// Whether an ASCII address is one of `entries` (lower-case ASCII), as a whole or
    /// by its local part; nil for an address that is not ASCII (the Set decides).
    private static func matches(_ address: UnsafeBufferPointer<UInt8>, _ entries: [[UInt8]]) -> Bool? {
        var at = -1
        for index in address.indices {
            let byte = address[index]
            if byte >= 0x80 { return nil }
            if byte == UInt8(ascii: "@") { at = index }
        }
        for entry in entries {
            if equalsIgnoringASCIICase(address, 0, address.count, entry) { return true }
            if at >= 0, equalsIgnoringASCIICase(address, 0, at, entry) { return true }
        }
        return false
    }

    private static func equalsIgnoringASCIICase(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
                                                _ lowered: [UInt8]) -> Bool {
        guard end - start == lowered.count else { return false }
        for offset in 0..<lowered.count {
            var byte = bytes[start + offset]
            if byte >= 0x41 && byte <= 0x5a { byte |= 0x20 }
            if byte != lowered[offset] { return false }
        }
        return true
    }
}
