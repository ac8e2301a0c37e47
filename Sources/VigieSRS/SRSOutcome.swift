import VigieCrypto

/// What `SRSCodec.forward` made of a sender.
public enum SRSForwardOutcome: Sendable, Equatable {
    /// The sender to use instead (external form).
    case rewritten(String)
    /// The sender stays as it is, and why.
    case unchanged(SRSUnchangedReason)
}

/// Why a sender is not rewritten. None of these is an error: Postfix keeps the
/// original sender (a lookup answers "not found").
public enum SRSUnchangedReason: String, Sendable, Equatable {
    /// No `@`, empty local part or domain, or broken quoting (`<>` and `@domain`
    /// lookups land here too).
    case notAnAddress = "not an address"
    /// The sender's domain is the SRS domain.
    case srsDomain = "sender is in the SRS domain"
    /// The sender's domain is in `excluded_domains`.
    case excludedDomain = "domain excluded by configuration"
    /// The sender is already an SRS address this host issued.
    case alreadyRewritten = "already an SRS address of this host"
    /// Starts like an SRS1 address of another forwarder but lacks a field, so it
    /// cannot be wrapped again (libsrs2 refuses it the same way).
    case malformedSRS = "malformed SRS sender"
    /// The SRS form's local part would exceed `maximumLocalPartOctets` (64), which
    /// strict receivers refuse; the original is kept (SPF may then fail at the
    /// receiver, as it would with no SRS at all).
    case tooLong = "SRS local part would exceed 64 octets"
}

/// What `SRSCodec.reverse` made of a recipient.
public enum SRSReverseOutcome: Sendable, Equatable {
    /// The address the SRS address stands for: the original sender for SRS0, the
    /// previous forwarder's SRS0 address for SRS1.
    case original(String)
    /// Not an SRS address at all (does not start with SRS0/SRS1 and a separator).
    case notSRS
    /// Looks like SRS but must be refused.
    case refused(SRSRefusal)
}

/// Why an SRS address is refused. `smtpReply` is the text a sending server reads.
public enum SRSRefusal: Sendable, Equatable {
    /// A field is missing or not well-formed (what is wrong, in words).
    case malformed(String)
    /// No secret makes this hash: forged, mistyped, or issued by another host.
    case badHash
    /// Issued more than `maximumAgeDays` days ago (age in days).
    case expired(ageDays: Int, maximumDays: Int)

    /// One line for logs and `vigiectl`.
    public var reason: String {
        switch self {
        case .malformed(let what): "malformed SRS address: \(what)"
        case .badHash: "invalid SRS signature (not issued by this host, or altered)"
        case .expired(let age, let maximum): "SRS address expired: issued \(age) days ago, valid for \(maximum)"
        }
    }

    /// Enhanced status code for the 550 reply.
    public var enhancedStatus: String {
        switch self {
        case .malformed: "5.1.3"
        case .badHash, .expired: "5.7.1"
        }
    }
}
