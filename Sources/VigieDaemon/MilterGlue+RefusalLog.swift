import Logging
import VigieCore

/// The recipients refused at RCPT in one transaction, summed per verdict, so the
/// log says it once when the transaction ends (end of message, abort or close).
///
/// Why not a line per RCPT: a client may send hundreds of RCPTs in one
/// transaction, and one line each let a single message write hundreds of lines to
/// mail.log (issue 15). The summary is bounded: one entry per distinct verdict
/// kind (a limit, or the lock), whatever the number of recipients.
struct RefusalTally {
    struct Entry {
        /// The account refused: the sender's, or on the relay path `relay:all`.
        var account: AccountName
        /// The first refusal of this kind: its figures (count, max) are the ones logged.
        var verdict: Verdict
        var firstRecipient: String
        var recipients: Int
    }
    private(set) var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }

    mutating func add(_ verdict: Verdict, account: AccountName, recipient: String) {
        if let index = entries.firstIndex(where: { $0.account == account && Self.sameKind($0.verdict, verdict) }) {
            entries[index].recipients += 1
        } else {
            entries.append(Entry(account: account, verdict: verdict, firstRecipient: EnvelopeAddress.strip(recipient),
                                 recipients: 1))
        }
    }

    private static func sameKind(_ lhs: Verdict, _ rhs: Verdict) -> Bool {
        switch (lhs, rhs) {
        case (.overLimit(let a), .overLimit(let b)): a.kind == b.kind
        case (.locked, .locked): true
        case (.undecided(let a), .undecided(let b)): a == b
        default: false
        }
    }
}

extension MilterGlue {
    /// One line per refusal verdict of a transaction: what was refused, how many
    /// recipients, how many were accepted. `queueID` is nil when the message never
    /// reached DATA (NOQUEUE).
    func logRefusals(_ tally: RefusalTally, sender: AccountName, path: SubmissionPath, queueID: String?,
                     acceptedRecipients: Int) {
        for entry in tally.entries {
            var metadata: Logger.Metadata = [
                "account": "\(entry.account)", "path": "\(path.rawValue)",
                "refused_recipients": "\(entry.recipients)", "accepted_recipients": "\(acceptedRecipients)",
                "first_recipient": "\(entry.firstRecipient)",
            ]
            if let queueID, !queueID.isEmpty { metadata["queue.id"] = "\(queueID)" }
            if entry.account != sender { metadata["sender_account"] = "\(sender)" }
            logRefusal(entry.verdict, metadata: &metadata)
        }
    }

    /// The refusal line of `verdict` with `metadata` (account, path, queue id...).
    func logRefusal(_ verdict: Verdict, metadata: inout Logger.Metadata) {
        switch verdict {
        case .overLimit(let breach):
            metadata["limit"] = "\(breach.kind.logName)"
            metadata["count"] = "\(breach.count)"
            metadata["max"] = "\(breach.limit)"
            logger.notice("refused: over limit", metadata: metadata)
        case .locked(let lock):
            metadata["locked_by"] = "\(lock.actor)"
            logger.notice("refused: account locked", metadata: metadata)
        case .undecided(let reason):
            metadata["reason"] = "\(reason.rawValue)"
            logger.warning("refused for now: no decision", metadata: metadata)
        case .accept, .lockedNow:
            break
        }
    }
}
