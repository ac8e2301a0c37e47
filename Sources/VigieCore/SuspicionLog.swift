/// The last decisions that moved one account's suspicion score, newest last.
///
/// Kept beside the account table, not in every entry: most accounts never score a
/// point. Bounded twice, so an attacker with many accounts cannot grow it without
/// limit: `perAccount` entries per account, `accountsPerShard` accounts per shard
/// (a new account is not logged once a shard is full; its score still counts).
/// The flusher drops accounts whose score has decayed to nothing.
struct SuspicionLog: Sendable {
    static let perAccount = 64
    static let accountsPerShard = 256

    private var entries: [SuspicionAssessment] = []
    /// Moves smaller than this are not worth a line in `vigiectl explain` (a message
    /// to one stranger in a history's first hours scores a hundredth of a point).
    static let smallestMove: Float = 0.5

    static func record(_ assessment: SuspicionAssessment, for account: AccountName,
                       in logs: inout [AccountName: SuspicionLog]) {
        if logs[account] == nil && logs.count >= accountsPerShard { return }
        logs[account, default: SuspicionLog()].append(assessment)
    }

    private mutating func append(_ assessment: SuspicionAssessment) {
        // Up to twice the bound, then back to the bound: one shift per 64 moves
        // instead of one per move.
        if entries.count >= 2 * Self.perAccount { entries.removeFirst(entries.count - Self.perAccount) }
        entries.append(assessment)
    }

    /// The last `perAccount` moves, oldest first.
    var recent: ArraySlice<SuspicionAssessment> { entries.suffix(Self.perAccount) }
}
