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
        if !login.isEmpty, login.utf8.count <= 256, !login.utf8.contains(where: Self.needsNormalizing) {
            return AccountName(normalized: login)
        }
        var name = login.trimmingWhitespace().lowercased()
        if let at = name.lastIndex(of: "@") {
            let domain = name[name.index(after: at)...]
            if localDomains.isEmpty || localDomains.contains(String(domain)) {
                // What is left must be a login as it stands: blanks before the `@`
                // are trimmed now, and a second `@` (`a@b@host`) is refused. Either
                // would make a name that normalises to another account when it
                // comes back (`vigiectl show`, the store): `a@b` → `a`.
                name = String(name[..<at]).trimmingWhitespace()
                if name.utf8.contains(UInt8(ascii: "@")) { return nil }
            }
        }
        guard !name.isEmpty, name.utf8.count <= 256,
              !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\u{7F}" })
        else { return nil }
        return AccountName(normalized: name)
    }

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
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
