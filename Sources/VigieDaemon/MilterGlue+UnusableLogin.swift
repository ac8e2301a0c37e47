import Logging
import MilterTransport
import VigieCore

extension MilterGlue {
    /// The answer to a RCPT from an authenticated client whose login cannot be an
    /// account name (`UnusableLogin`: `@camille`, over 256 bytes, a control character).
    ///
    /// Why not accept: Postfix would stop calling Vigie for the message, so a client
    /// with such a login (a SASL backend that accepts it) would send unlimited and
    /// uncounted. A tempfail keeps the message on the client while an admin reads
    /// the log line; the metric lets an alert fire.
    ///
    /// Called for each RCPT of such a transaction (no transaction is begun), so the
    /// log line and the metric count refused recipients. The login is logged
    /// sanitised and cut (`ReplyText.sanitizeValue`): it may hold CR or LF.
    func refuseUnusableLogin(_ login: String, normalizer: AccountNormalizer) -> MilterResponse {
        let problem: UnusableLogin
        if case .failure(let why) = normalizer.normalize(login: login) { problem = why } else { problem = .empty }
        metrics.unusableLogins.increment()
        logger.warning("refused: unusable login", metadata: [
            "path": "smtp", "problem": "\(problem.rawValue)", "bytes": "\(login.utf8.count)",
            "login": "\(ReplyText.sanitizeValue(login))",
        ])
        let reply = ReplyTable.unusableLoginSMTP
        return .tempfail(MilterReplyText(code: reply.code, enhancedCode: reply.enhancedCode, lines: reply.lines))
    }
}
