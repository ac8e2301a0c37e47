import Logging
import MilterTransport
import VigieCore
import VigieReply

/// A transaction whose authenticated login cannot be an account name
/// (`UnusableLogin`: `@camille`, over 256 bytes, a control character): every RCPT
/// is refused, and the log line is written once when the transaction ends.
struct UnusableLoginAttempt {
    var login: String
    var problem: UnusableLogin
    var refusedRecipients = 0
}

extension MilterGlue {
    /// Why `login` cannot be used (the glue found no account for it).
    func unusableLogin(_ login: String, normalizer: AccountNormalizer) -> UnusableLoginAttempt {
        let problem: UnusableLogin
        if case .failure(let why) = normalizer.normalize(login: login) { problem = why } else { problem = .empty }
        return UnusableLoginAttempt(login: login, problem: problem)
    }

    /// The answer to each RCPT of such a transaction.
    ///
    /// Why not accept: Postfix would stop calling Vigie for the message, so a client
    /// with such a login (a SASL backend that accepts it) would send unlimited and
    /// uncounted. A tempfail keeps the message on the client while an admin reads
    /// the log line; the metric (one per refused recipient) lets an alert fire.
    func refuseUnusableLogin() -> MilterResponse {
        metrics.unusableLogins.increment()
        let reply = ReplyTable.unusableLoginSMTP
        return .tempfail(reply)
    }

    /// One line per transaction, however many RCPTs it refused (a line each let a
    /// client flood mail.log). The login is logged sanitised and cut
    /// (`ReplyText.sanitizeValue`): it may hold CR or LF.
    func logUnusableLogin(_ attempt: UnusableLoginAttempt) {
        logger.warning("refused: unusable login", metadata: [
            "path": "smtp", "problem": "\(attempt.problem.rawValue)", "bytes": "\(attempt.login.utf8.count)",
            "login": "\(ReplyText.sanitizeValue(attempt.login))", "refused_recipients": "\(attempt.refusedRecipients)",
        ])
    }
}
