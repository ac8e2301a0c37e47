/// Answers "which Unix groups is this account in?" (through NSS in the daemon, so
/// LDAP groups work; a fixed table in tests).
public protocol GroupDirectory: Sendable {
    /// Group names of `account`, or an empty list for an unknown account. Throws
    /// when the directory did not answer (a timeout, an NSS error): the policy then
    /// refuses the message for now (`Verdict.undecided`) rather than guess.
    func groups(of account: AccountName) throws -> [String]
}

/// A directory with fixed memberships.
public struct FixedGroupDirectory: GroupDirectory {
    public var memberships: [AccountName: [String]]
    public init(_ memberships: [AccountName: [String]] = [:]) { self.memberships = memberships }
    public func groups(of account: AccountName) -> [String] { memberships[account] ?? [] }
}
