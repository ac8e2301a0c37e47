import Logging
import MilterTransport
import Synchronization
import VigieCore
import VigieReply

/// One SMTP connection (or one local submission) through Vigie.
final class SubmissionSession: MilterSessionHandler {
    private let glue: MilterGlue

    /// The message in progress from a member; nil for mail Vigie does not judge.
    private var transaction: Transaction?
    /// The transaction in progress from a login Vigie cannot count: every RCPT refused.
    private var unusableLogin: UnusableLoginAttempt?

    /// A class, not a struct: RCPT mutates it in place for every recipient, and a
    /// struct this size was copied out and back (every reference retained and
    /// released) on each one: 4,000 instructions per message under callgrind.
    private final class Transaction {
        var account: AccountName
        /// The settings in force when the transaction began (a reload mid-message
        /// does not change how this message is judged or told).
        var settings: MilterGlue.Settings
        var path: SubmissionPath
        var recipients = 0
        /// A refusal was already counted towards the burst rule for this message.
        var refusalCounted = false
        /// On the relay path, the account the message also counts against
        /// (`relay:all`, the whole flow from the host, whatever sender it writes).
        var sharedAccount: AccountName?
        /// A refusal by `sharedAccount` was already counted towards its burst rule.
        var sharedRefusalCounted = false
        /// The recipients refused at RCPT, logged once when the transaction ends.
        var refusals = RefusalTally()
        /// This message tripped the burst lock: it is kept (quarantined), not delivered.
        var trippedLock: AccountLock?
        /// Where it comes from and goes to, for the suspicion score; nil when the
        /// message is not scored (detection off, or the relay path), so nothing is
        /// parsed or hashed for it.
        var signals: MessageSignals?
        /// Signing inside this milter (`[dkim.sign] in_submission`): nil when the role
        /// does not sign, or once this message is known not to be signed.
        var signer: MessageSigner?

        init(account: AccountName, settings: MilterGlue.Settings, path: SubmissionPath, signals: MessageSignals?) {
            self.account = account
            self.settings = settings
            self.path = path
            self.signals = signals
        }
    }

    init(glue: MilterGlue) { self.glue = glue }

    /// Who is sending this message, asked at its first RCPT: a member's transaction,
    /// or nil with the answer that ends Vigie's part in the message (mail from the
    /// internet, an exempt account).
    private func beginTransaction(context: MilterContext) -> (Transaction?, MilterResponse) {
        let settings = glue.settings
        let path: SubmissionPath
        var account: AccountName?
        let daemonName = context.macro("{daemon_name}")
        if let login = context.macro("{auth_authen}"), !login.isEmpty {
            path = .smtp
            account = settings.normalizer.account(forLogin: login)
            // Fail closed: an authenticated sender Vigie cannot count is not let through unjudged.
            if account == nil {
                unusableLogin = glue.unusableLogin(login, normalizer: settings.normalizer)
                return (nil, .continue)
            }
        } else if daemonName == settings.localDaemonName {
            path = .local
            account = settings.normalizer.account(forLocalSender: context.macro("{mail_addr}") ?? "")
        } else if daemonName == settings.relayDaemonName {
            // Fail closed: the envelope sender is whatever the process wrote. A
            // sender that names no member, or names an exempt account (root), is
            // counted under one shared account rather than let through unjudged.
            path = .relay
            let sender = settings.normalizer.account(forRelaySender: context.macro("{mail_addr}") ?? "")
            account = glue.policy.isExempt(sender) ? AccountNormalizer.foreignRelaySender : sender
        } else {
            // Mail from the internet (or an unauthenticated client): never counted
            // against a member. Accept so Postfix stops calling us for this message.
            glue.metrics.external.increment()
            return (nil, .accept)
        }
        guard let account, !glue.policy.isExempt(account) else {
            glue.metrics.accepted.increment()
            return (nil, .accept)
        }
        // A locked account is refused by the check below, at this same RCPT.
        // Scored: members' mail on the SMTP and local paths. The relay path is
        // limited and burst-locked but not scored: an application on the host
        // (password resets, contact forms) writes to new people by nature.
        var signals: MessageSignals?
        if path != .relay, glue.policy.scoresMessages {
            // The client's network: nil on the local path (cleanup has no client), and
            // nil for a missing or malformed macro, which never counts as a new network.
            signals = MessageSignals(network: path == .smtp
                ? context.macro("{client_addr}").flatMap(NetworkPrefix.init(clientAddress:)) : nil)
        }
        let begun = Transaction(account: account, settings: settings, path: path, signals: signals)
        if let signing = glue.signing {
            // A member's mail, as the sign role chooses it; a forwarded copy (an SRS
            // envelope sender) only with sign_forwarded.
            if signing.signForwarded || !SignSession.isSRS(context.macro("{mail_addr}") ?? "") {
                begun.signer = MessageSigner(keys: signing.keys.value, metrics: signing.metrics, logger: glue.logger)
            } else {
                signing.metrics.unsigned(.forwarded)
            }
        }
        if path == .relay, account != AccountNormalizer.relayedFromHost, !glue.policy.isExempt(AccountNormalizer.relayedFromHost) {
            begun.sharedAccount = AccountNormalizer.relayedFromHost
        }
        return (begun, .continue)
    }

    func envelopeRecipient(arguments: [String], context: MilterContext) -> MilterResponse {
        let started = DecisionHistogram.start()
        defer { glue.metrics.decisionSeconds.record(since: started) }
        // Postfix stops calling for a message once it was answered "accept", and a
        // transaction ends at end of message or abort: no transaction here means
        // this is the message's first RCPT.
        if transaction == nil {
            if unusableLogin == nil {
                let (begun, answer) = beginTransaction(context: context)
                if let begun { transaction = begun } else if unusableLogin == nil { return answer }
            }
            if unusableLogin != nil {
                unusableLogin?.refusedRecipients += 1
                return glue.refuseUnusableLogin()
            }
        }
        guard let message = transaction else { return .continue }
        let recipient = arguments.first ?? ""
        if glue.policy.isExempt(recipient: recipient) { return .continue }
        // Relayed mail to the host's own domains stays here: only mail leaving counts.
        if message.path == .relay, message.settings.normalizer.isLocal(recipient: recipient) { return .continue }
        message.recipients += 1
        if message.path == .local || message.trippedLock != nil {
            message.signals?.add(recipient: recipient)
            return .continue
        }

        var verdict = glue.policy.check(account: message.account, recipients: message.recipients,
                                        countsAsRefusal: !message.refusalCounted)
        var judged = message.account
        if case .accept = verdict, let shared = message.sharedAccount {
            verdict = glue.policy.check(account: shared, recipients: message.recipients,
                                        countsAsRefusal: !message.sharedRefusalCounted)
            judged = shared
        }
        switch verdict {
        case .accept:
            message.signals?.add(recipient: recipient)
            return .continue
        case .overLimit, .locked, .undecided:
            // The message is counted once in the metrics, whatever its number of
            // refused recipients.
            let firstRefusal = !message.refusalCounted && !message.sharedRefusalCounted
            message.recipients -= 1
            if judged == message.account { message.refusalCounted = true } else { message.sharedRefusalCounted = true }
            // Logged once per message and verdict when the transaction ends, not
            // here: a line per RCPT let one message flood mail.log.
            message.refusals.add(verdict, account: judged, recipient: recipient)
            return refuse(verdict, account: judged, path: message.path, queueID: nil,
                          renderer: message.settings.renderer, log: false, recordMetrics: firstRefusal)
        case .lockedNow(let lock, _) where lock.id == nil:
            // In force in memory, but not on disk (a full or failing state store): a
            // restart would forget it, so the tripping message must not go in. The
            // client retries and meets the lock (550) or, once stored, the quarantine.
            return tempfailUnstoredLock(lock, account: judged, path: message.path, queueID: nil)
        case .lockedNow(let lock, _):
            // Let the message come in so it can be kept as evidence in the hold queue.
            message.signals?.add(recipient: recipient)
            message.trippedLock = lock
            return .continue
        }
    }

    // Headers, end of headers and body reach this milter only when it signs, and
    // are sent without a reply: they only feed the message's signer.
    /// Only a message still to be signed: the others' fields and body are not copied.
    var wantsMessageContent: Bool { transaction?.signer != nil }

    func header(name: String, value: String, context: MilterContext) -> MilterResponse {
        if let message = transaction, let signer = message.signer, !signer.header(name: name, value: value) {
            message.signer = nil
        }
        return .continue
    }

    func endOfHeaders(context: MilterContext) -> MilterResponse {
        if let message = transaction, let signer = message.signer, !signer.endOfHeaders() { message.signer = nil }
        return .continue
    }

    func body(chunk: [UInt8], context: MilterContext) -> MilterResponse {
        transaction?.signer?.body(chunk)
        return .continue
    }

    func endOfMessage(context: MilterContext) -> MilterResponse {
        if let attempt = unusableLogin {
            // Every RCPT was refused, so Postfix should not get here; log it anyway.
            glue.logUnusableLogin(attempt)
            unusableLogin = nil
        }
        guard let message = transaction else { return .continue }
        transaction = nil
        let started = DecisionHistogram.start()
        defer { glue.metrics.decisionSeconds.record(since: started) }
        let queueID = context.macro("i") ?? ""
        glue.statistics.decided.add(1, ordering: .relaxed)
        logRefusals(of: message, queueID: queueID)
        if let lock = message.trippedLock {
            return quarantine(lock: lock, account: AccountName(normalized: lock.account), path: message.path, queueID: queueID,
                              context: context)
        }
        if message.recipients == 0 {
            // Only exempt recipients (postmaster, abuse): always let through, never counted.
            glue.metrics.accepted.increment()
            message.signer?.finish(context: context, queueID: queueID)
            return .continue
        }
        var verdict = glue.policy.commit(account: message.account, recipients: message.recipients, queueID: queueID,
                                         countsAsRefusal: !message.refusalCounted, signals: message.signals)
        var judged = message.account
        if case .accept = verdict, let shared = message.sharedAccount {
            // Counted against the sender already: should the whole flow refuse it
            // now (another message took the last place since RCPT), the sender's
            // counter keeps one message too many, on the safe side.
            verdict = glue.policy.commit(account: shared, recipients: message.recipients, queueID: queueID,
                                         countsAsRefusal: !message.sharedRefusalCounted)
            judged = shared
        }
        switch verdict {
        case .accept:
            glue.metrics.accepted.increment()
            // The values as they are, not interpolated: "\(x)" built a new String for
            // each on every message.
            glue.logger.info("accepted", metadata: [
                "queue.id": .string(queueID), "account": .string(message.account.value),
                "path": .string(message.path.rawValue), "recipients": .string(String(message.recipients)),
            ])
            message.signer?.finish(context: context, queueID: queueID)
            return .continue
        case .overLimit, .locked, .undecided:
            return refuse(verdict, account: judged, path: message.path, queueID: queueID,
                          renderer: message.settings.renderer)
        case .lockedNow(let lock, _):
            return quarantine(lock: lock, account: judged, path: message.path, queueID: queueID, context: context)
        }
    }

    func abort(context: MilterContext) { endTransaction() }
    func close() {
        endTransaction()
        glue.metrics.sessionsActive.decrement()
    }

    /// A transaction ends without end of message (abort, or the connection closed):
    /// its refusals are logged now, once.
    private func endTransaction() {
        if let message = transaction { logRefusals(of: message, queueID: nil) }
        if let attempt = unusableLogin { glue.logUnusableLogin(attempt) }
        transaction = nil
        unusableLogin = nil
    }

    /// The RCPT refusals of a transaction that is ending, one line per verdict.
    private func logRefusals(of message: Transaction, queueID: String?) {
        guard !message.refusals.isEmpty else { return }
        glue.logRefusals(message.refusals, sender: message.account, path: message.path, queueID: queueID,
                         acceptedRecipients: message.recipients)
    }

    /// Keeps the message that tripped a lock in Postfix's hold queue: evidence for the
    /// admins, and nothing delivered. Postfix drops the quarantine reason, so it is
    /// logged here.
    private func quarantine(lock: AccountLock, account: AccountName, path: SubmissionPath, queueID: String,
                            context: MilterContext) -> MilterResponse {
        // Stored since RCPT (by the flusher's retry) is as good as stored at once.
        if lock.id == nil, glue.policy.lock(of: account)?.id == nil {
            return tempfailUnstoredLock(lock, account: account, path: path, queueID: queueID)
        }
        let held = context.quarantine(reason: "vigie: account \(account) locked")
        glue.metrics.quarantined.increment()
        glue.metrics.quarantinedTotal.increment()
        glue.policy.recordTrippedMessage(lock: lock, queueID: queueID)
        glue.logger.warning("quarantined: message tripped the burst lock", metadata: [
            "queue.id": "\(queueID)", "account": "\(account)", "reason": "\(lock.reason)", "held": "\(held)",
        ])
        if !held {
            glue.metrics.internalError(stage: "eom")
            glue.statistics.internalErrors.add(1, ordering: .relaxed)
            // No hold queue (the MTA refused the action): refuse rather than deliver.
            return .reject(SMTPReply(code: "550", enhancedCode: "5.7.1", lines: ["Account locked"]))
        }
        return .accept
    }

    /// The answer to the message that tripped a lock the store could not write: a
    /// tempfail, never an accept (a held message whose lock a restart forgets would
    /// be the only trace), with the log line and metric an admin alerts on.
    private func tempfailUnstoredLock(_ lock: AccountLock, account: AccountName, path: SubmissionPath,
                                      queueID: String?) -> MilterResponse {
        glue.metrics.tempfailed.increment()
        var metadata: Logger.Metadata = [
            "account": "\(account)", "path": "\(path.rawValue)", "reason": "\(lock.reason)",
            "store": "\(glue.policy.storeHealth.lastError ?? "unknown error")",
        ]
        if let queueID, !queueID.isEmpty { metadata["queue.id"] = "\(queueID)" }
        glue.logger.error("refused for now: locked in memory, the store could not write the lock", metadata: metadata)
        let reply = ReplyTable.internalErrorSMTP
        return .tempfail(reply)
    }

    /// The reply for a refusal, its metric and (unless the caller tallies it for
    /// the end of the transaction) its log line.
    private func refuse(_ verdict: Verdict, account: AccountName, path: SubmissionPath, queueID: String?, renderer: NoticeRenderer,
                        log: Bool = true, recordMetrics: Bool = true) -> MilterResponse {
        let now = glue.clock.now()
        if recordMetrics {
            switch verdict {
            case .overLimit(let breach): glue.metrics.refused(breach.kind)
            case .locked: glue.metrics.lockedRefusals.increment()
            case .undecided: glue.metrics.tempfailed.increment()
            case .accept, .lockedNow: break
            }
        }
        if log {
            var metadata: Logger.Metadata = ["account": "\(account)", "path": "\(path.rawValue)"]
            if let queueID, !queueID.isEmpty { metadata["queue.id"] = "\(queueID)" }
            glue.logRefusal(verdict, metadata: &metadata)
        }
        guard let reply = renderer.reply(for: verdict, account: account, path: path, now: now) else { return .continue }
        return reply.isTemporary ? .tempfail(reply) : .reject(reply)
    }
}
