/// A DMARC verdict for one author domain (RFC 7489 §11.2, RFC 8601 §2.7.1), as a
/// value: verification outcomes are not errors.
public enum DMARCResult: String, Sendable, Hashable, CaseIterable {
    /// No policy applies: no record, several records (§6.6.3 step 4), or mail this
    /// role does not judge.
    case none
    /// An aligned SPF or DKIM pass.
    case pass
    /// A policy was found and nothing aligned passed.
    case fail
    /// The policy could not be fetched for now (DNS timeout, SERVFAIL).
    case temperror
    /// The message or the record cannot be judged: no usable From field, or a record
    /// without a valid p= (and no valid rua=, §6.6.3 step 5).
    case permerror
}

/// What a domain owner asks of receivers for mail that fails (p= and sp=, §6.3).
public enum DMARCPolicy: String, Sendable, Hashable, CaseIterable, Comparable {
    case none, quarantine, reject

    /// Strictness, for "the most strict policy among the checks that fail" (§6.6.1).
    private var rank: Int {
        switch self {
        case .none: 0
        case .quarantine: 1
        case .reject: 2
        }
    }

    public static func < (lhs: DMARCPolicy, rhs: DMARCPolicy) -> Bool { lhs.rank < rhs.rank }
}

/// adkim= and aspf= (§3.1): relaxed compares organisational domains, strict the
/// whole names.
public enum DMARCAlignmentMode: String, Sendable, Hashable {
    case relaxed = "r"
    case strict = "s"
}
