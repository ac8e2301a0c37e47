import Logging
import MilterTransport
import Synchronization
import VigieCore
import VigieReply

/// Vigie milter glue: turns libmilter's view of a transaction (macros, envelope)
/// into policy questions and the policy's verdicts into SMTP replies.
///
/// Stages used: RCPT (who is sending, and the limits, decided as early as the
/// protocol allows, so no body is uploaded for a refused message) and end of message
/// (count the message, or quarantine the one that tripped a lock). MAIL, headers and
/// body are negotiated away: every stage is a round trip Postfix waits for on every
/// message, and the sender's identity reaches RCPT as macros anyway
/// (`{auth_authen}`, `{daemon_name}`, `{mail_addr}`), so a MAIL stage would only
/// cost a round trip (benchmarks/README.md).
///
/// Unauthenticated mail on the relay listener (`{daemon_name}` =
/// `relayDaemonName`: a process on the host, such as a web application, handing
/// mail to smtpd on loopback) is a third path, `relay`: counted against the
/// envelope sender's local part, foreign senders under `relay:foreign`, and every
/// message under `relay:all` as well (the sender is the client's choice, so the
/// whole flow needs a limit of its own), refused at RCPT like SMTP submission.
/// Mail on any other listener without a login is mail from the internet and is
/// never counted.
///
/// On the local sendmail(1) path nothing is refused before end of message, and
/// never with a 4xx: Postfix treats a non-SMTP RCPT refusal as a configuration
/// error, and a 4xx there leaves the mail in maildrop forever (POSTFIX-NOTES).
public final class MilterGlue: Sendable {
    let policy: SendPolicy
    /// What `vigiectl reload` may change: read once per transaction, at its first RCPT.
    public struct Settings: Sendable {
        public var renderer: NoticeRenderer
        public var normalizer: AccountNormalizer
        public var localDaemonName: String
        /// The `{daemon_name}` of the smtpd listener where processes on the host
        /// relay without a login (`identity.relay_daemon_name`).
        public var relayDaemonName: String
        public init(renderer: NoticeRenderer, normalizer: AccountNormalizer, localDaemonName: String,
                    relayDaemonName: String = "local-relay") {
            self.renderer = renderer
            self.normalizer = normalizer
            self.localDaemonName = localDaemonName
            self.relayDaemonName = relayDaemonName
        }
    }
    private let current: ReloadableValue<Settings>
    var settings: Settings { current.value }
    public func reload(_ settings: Settings) { current.replace { _ in settings } }
    let logger: Logger
    let clock: any TimeSource
    let metrics: VigieMetrics
    let statistics = Statistics()

    /// Counters for `vigiectl status` (and later the metrics endpoint).
    final class Statistics: Sendable {
        let decided = Atomic<Int>(0)
        let internalErrors = Atomic<Int>(0)
    }

    /// `[dkim.sign] in_submission`: this role also signs members' mail (the keys,
    /// swapped whole at reload, and the sign role's metrics); nil otherwise.
    struct Signing: Sendable {
        let keys: ReloadableValue<SignGlue.Keys>
        let metrics: SignMetrics
        let signForwarded: Bool
    }
    let signing: Signing?

    public convenience init(policy: SendPolicy, settings: Settings,
                            logger: Logger, clock: any TimeSource, metrics: VigieMetrics) {
        self.init(policy: policy, settings: settings, logger: logger, clock: clock, metrics: metrics, signing: nil)
    }

    init(policy: SendPolicy, settings: Settings, logger: Logger, clock: any TimeSource, metrics: VigieMetrics,
         signing: Signing?) {
        self.metrics = metrics
        self.policy = policy
        self.current = ReloadableValue(settings)
        self.logger = logger
        self.clock = clock
        self.signing = signing
    }

    /// What Vigie asks of the MTA. `signs`: also the headers, end of headers and body,
    /// sent without a reply (no round trip), for signing inside this milter; mail
    /// from the internet is still answered "accept" at its first RCPT, so Postfix
    /// sends it no further.
    public static func milterConfiguration(socket: String, signs: Bool = false) -> MilterServer.Configuration {
        MilterServer.Configuration(
            socket: socket, name: "vigie",
            stages: signs ? [.envelopeRecipient, .header, .endOfHeaders, .body, .endOfMessage] : [.envelopeRecipient, .endOfMessage],
            noReplyStages: signs ? [.header, .endOfHeaders, .body] : [],
            actions: signs ? [.quarantine, .addHeaders] : [.quarantine],
            macros: [
                // Postfix sends a declined stage's macros with the next command, so
                // asking for one small macro at MAIL replaces its longer default list.
                .envelopeFrom: ["{mail_addr}"],
                // {daemon_name} tells the local sendmail path (cleanup) from smtpd;
                // {client_addr} is where a login comes from (the suspicion score).
                .envelopeRecipient: ["{auth_authen}", "{daemon_name}", "{mail_addr}", "{client_addr}"],
                .endOfMessage: ["i"],
            ])
    }

    public func makeSession() -> any MilterSessionHandler {
        metrics.sessionsTotal.increment()
        metrics.sessionsActive.increment()
        return SubmissionSession(glue: self)
    }
}

extension LimitBreach.Kind {
    var logName: String {
        switch self {
        case .window(let metric, let window): "\(metric.rawValue)/\(window)"
        case .recipientsPerMessage: "recipients/message"
        }
    }
}
