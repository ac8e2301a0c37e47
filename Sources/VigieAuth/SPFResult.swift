/// An SPF verdict (RFC 7208 §2.6), as a value: verification outcomes are not errors.
public enum SPFResult: String, Sendable, Hashable, CaseIterable {
    case none, neutral, pass, fail, softfail, temperror, permerror
}

/// Which identity SPF checked (RFC 7208 §2.3, §2.4): MAIL FROM's domain, or the
/// HELO name when the envelope sender is null.
public enum SPFIdentity: String, Sendable, Hashable {
    case mailFrom = "mailfrom"
    case helo
}

/// One SPF check, with what Authentication-Results and Received-SPF report.
public struct SPFOutcome: Sendable, Hashable {
    public var result: SPFResult
    public var identity: SPFIdentity
    /// The checked identity: `user@domain` (mailfrom, `postmaster@helo` for a null
    /// sender checked by HELO) or the HELO name.
    public var checkedAddress: String
    public var clientIP: String
    public var helo: String
    /// Why, in a few words (the mechanism that matched, or the error).
    public var reason: String?

    public init(result: SPFResult, identity: SPFIdentity, checkedAddress: String, clientIP: String, helo: String,
                reason: String? = nil) {
        self.result = result
        self.identity = identity
        self.checkedAddress = checkedAddress
        self.clientIP = clientIP
        self.helo = helo
        self.reason = reason
    }
}
