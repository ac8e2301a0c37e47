/// The texts a member reads when Vigie refuses a message, in one language.
///
/// Loaded from `conf/notices/LANG.toml`. Each notice has a multi-line form for the
/// SMTP reply a mail client shows, and a one-line form for the local sendmail(1)
/// path, where the text ends up in the bounce's Diagnostic-Code.
///
/// Placeholders: `{account}`, `{count}`, `{limit}`, `{what}` (messages /
/// recipients), `{window}` (a phrase such as "la dernière heure"), `{retry_time}`,
/// `{retry_in}`, `{contact}`, `{reason}`, `{locked_at}`.
public struct NoticeTemplates: Sendable, Equatable {
    public struct Notice: Sendable, Equatable {
        public var smtp: [String]
        public var bounce: String
        public init(smtp: [String], bounce: String) {
            self.smtp = smtp
            self.bounce = bounce
        }
    }

    /// Language tag (`fr`, `en`).
    public var language: String
    /// Over a per-window limit.
    public var overLimit: Notice
    /// Too many recipients for one message.
    public var tooManyRecipients: Notice
    /// The account is locked.
    public var locked: Notice
    /// Words for `{what}`: keys `messages`, `recipients`.
    public var metricNames: [LimitMetric: String]
    /// Phrases for `{window}`: keys `minute`, `hour`, `day`.
    public var windowPhrases: [LimitWindow: String]

    public init(
        language: String, overLimit: Notice, tooManyRecipients: Notice, locked: Notice,
        metricNames: [LimitMetric: String], windowPhrases: [LimitWindow: String]
    ) {
        self.language = language
        self.overLimit = overLimit
        self.tooManyRecipients = tooManyRecipients
        self.locked = locked
        self.metricNames = metricNames
        self.windowPhrases = windowPhrases
    }

    /// Every placeholder a template may use; anything else in braces is a config error.
    public static let placeholders: Set<String> = [
        "account", "count", "limit", "what", "window", "retry_time", "retry_in", "contact", "reason", "locked_at",
    ]
}
