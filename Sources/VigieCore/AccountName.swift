/// The name limits and locks are kept under: a Unix login, lower-cased.
///
/// A SASL login may arrive as `Alice`, `alice` or `alice@example.org`; all three must
/// land on one counter, or changing case would be a way around a limit.
///
/// The name's hash is computed once, when it is made: one decision looks the
/// account up in a shard, a dictionary and a dirty set, and hashing the string each
/// time was a third of the policy's instructions (callgrind, benchmarks/).
public struct AccountName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let value: String
    /// Hash of `value` for this process (Hasher is seeded per process; never stored).
    let hash: Int

    /// Wraps an already normalised name (from storage or the control socket).
    public init(normalized value: String) {
        self.value = value
        var hasher = Hasher()
        hasher.combine(value)
        self.hash = hasher.finalize()
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    /// What Dictionary and Set actually call: the cached hash mixed with the table's
    /// seed, without running a Hasher (SipHash finalisation) again on every lookup.
    /// `hash` is already a per-process seeded SipHash of the name, so tables keep
    /// their resistance to chosen collisions.
    /// The multiply-xorshift spreads every input bit over the low bits a table uses
    /// for its bucket: the shards already split accounts by the low bits of `hash`.
    public func _rawHashValue(seed: Int) -> Int {
        let mixed = UInt(bitPattern: hash ^ seed) &* 0x9E37_79B9_7F4A_7C15
        return Int(bitPattern: mixed ^ (mixed >> 29))
    }
    public static func == (lhs: AccountName, rhs: AccountName) -> Bool { lhs.hash == rhs.hash && lhs.value == rhs.value }

    public var description: String { value }
    public static func < (lhs: AccountName, rhs: AccountName) -> Bool { lhs.value < rhs.value }
}

/// Turns SASL logins and envelope senders into account names.
public struct AccountNormalizer: Sendable {
    /// Domains whose addresses are the same account as the bare login. Empty means
    /// every domain: on a single-domain host `bob@anything` is Unix user `bob`.
    public var localDomains: Set<String>

    public init(localDomains: [String] = []) {
        self.localDomains = Set(localDomains.map { $0.lowercased() })
    }

    /// The account for a SASL login (`{auth_authen}`), or nil when it is empty or unusable.
    public func account(forLogin login: String) -> AccountName? {
        // Nearly every login is already a bare, lower-case ASCII name: take it as it
        // is, without the copies the general case below makes.
        var bytes = login
        if !login.isEmpty, login.utf8.count <= Self.maximumLoginBytes,
           !bytes.withUTF8({ $0.contains(where: Self.needsNormalizing) }) {  // a buffer scan, not UTF8View's iterator
            return AccountName(normalized: login)
        }
        return try? normalize(login: login).get()
    }

    /// The account for a SASL login, or why there is none. The glue refuses these
    /// logins (a tempfail, logged and counted) rather than let the message through
    /// unjudged: an authenticated client Vigie cannot count must not be unlimited.
    public func normalize(login: String) -> Result<AccountName, UnusableLogin> {
        var name = login.trimmingWhitespace().lowercased()
        guard !name.isEmpty else { return .failure(.empty) }
        if let at = name.lastIndex(of: "@") {
            let domain = name[name.index(after: at)...]
            if localDomains.isEmpty || localDomains.contains(String(domain)) {
                // What is left must be a login as it stands: blanks before the `@`
                // are trimmed now, and a second `@` (`a@b@host`) is refused. Either
                // would make a name that normalises to another account when it
                // comes back (`vigiectl show`, the store): `a@b` → `a`.
                name = String(name[..<at]).trimmingWhitespace()
                if name.utf8.contains(UInt8(ascii: "@")) { return .failure(.secondAtSign) }
            }
        }
        guard !name.isEmpty else { return .failure(.noLocalPart) }
        guard name.utf8.count <= Self.maximumLoginBytes else { return .failure(.tooLong) }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\u{7F}" }) else {
            return .failure(.controlCharacter)
        }
        return .success(AccountName(normalized: name))
    }

    /// Longer names are refused: they are no Unix login, and they would bloat every
    /// table, log line and notice they reach.
    public static let maximumLoginBytes = 256

    /// Bytes the general case would change or refuse: blanks and control
    /// characters, `@`, upper case, anything not ASCII.
    private static func needsNormalizing(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "@") || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// The account for a local sendmail(1) submission: the local part of the envelope
    /// sender when its domain is local (or absent). Nil for the null sender and for
    /// foreign domains, which are not a member's own mail.
    public func account(forLocalSender sender: String) -> AccountName? {
        let address = EnvelopeAddress.strip(sender)
        guard !address.isEmpty else { return nil }
        if let at = address.lastIndex(of: "@") {
            let domain = address[address.index(after: at)...].lowercased()
            if !localDomains.isEmpty && !localDomains.contains(domain) { return nil }
        }
        return account(forLogin: address)
    }

    /// The account mail relayed from the host without a login is counted under
    /// when its envelope sender is not a local address (`account(forLocalSender:)`
    /// is nil: a foreign domain, the null sender, an unusable local part).
    ///
    /// Why one shared account rather than letting it through: the envelope sender
    /// is whatever the process on the host wrote, so a compromised web application
    /// could otherwise escape every limit by writing a foreign sender. All such mail
    /// shares one budget, and one lock. The colon keeps it apart from Unix logins.
    public static let foreignRelaySender = AccountName(normalized: "relay:foreign")

    /// The account every message on the relay path is counted against as well as
    /// its sender's: all mail relayed from the host without a login.
    ///
    /// Why: the sender is chosen by the client, so a process writing a new local
    /// part for each message would spread over as many accounts, each with fresh
    /// limits. This one sees the whole flow, limits it and takes the burst lock.
    public static let relayedFromHost = AccountName(normalized: "relay:all")

    /// The account for unauthenticated mail handed to the relay listener by a
    /// process on the host: the local part of a local envelope sender, like the
    /// sendmail path, else `foreignRelaySender`. Never nil: this path fails closed.
    public func account(forRelaySender sender: String) -> AccountName {
        account(forLocalSender: sender) ?? Self.foreignRelaySender
    }

    /// Whether `recipient` is in one of `localDomains`: relayed mail to it stays on
    /// the host and is not counted. False for every recipient when no domain is
    /// configured (any domain is local for logins, so none can be told local here).
    public func isLocal(recipient: String) -> Bool {
        guard !localDomains.isEmpty else { return false }
        let address = EnvelopeAddress.strip(recipient)
        guard let at = address.lastIndex(of: "@") else { return false }
        return localDomains.contains(address[address.index(after: at)...].lowercased())
    }
}

/// Why a SASL login cannot be an account name. The raw values are log words.
public enum UnusableLogin: String, Error, Sendable, CaseIterable {
    /// Nothing but blanks.
    case empty
    /// `@camille`: the domain is local, and nothing is left before it.
    case noLocalPart = "no-local-part"
    /// Over `AccountNormalizer.maximumLoginBytes` once normalised.
    case tooLong = "too-long"
    /// A control character (CR, LF, NUL, DEL...), which would also break log lines.
    case controlCharacter = "control-character"
    /// `a@b@host`: an @ left in the name once the local domain is taken off.
    case secondAtSign = "second-at-sign"
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
