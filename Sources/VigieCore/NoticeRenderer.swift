import Foundation
import VigieReply

/// Turns a refusal into the words a member reads, in the configured languages.
///
/// Every interpolated value goes through `ReplyText.sanitizeValue` and every line
/// through `ReplyText.finishLine`: a login or an admin's reason can contain CR, LF
/// or `%`, and any of those would break the SMTP reply or make libmilter refuse it.
public struct NoticeRenderer: Sendable {
    public var languages: [NoticeTemplates]
    public var contact: String
    public var timeZone: TimeZone

    public init(languages: [NoticeTemplates], contact: String, timeZone: TimeZone = .current) {
        self.languages = languages
        self.contact = contact
        self.timeZone = timeZone
    }

    /// The reply for a refusing verdict, or nil when the message goes on
    /// (`accept`, and `lockedNow`, which quarantines rather than refuses).
    public func reply(for verdict: Verdict, account: AccountName, path: SubmissionPath, now: UnixTime) -> SMTPReply? {
        switch verdict {
        case .accept, .lockedNow:
            return nil
        case .undecided:
            // No notice to explain: nothing is wrong with the member's mail, and the
            // retry of their client will be decided normally.
            return ReplyTable.internalErrorSMTP
        case .overLimit(let breach):
            let refusal: ReplyTable.RefusalClass
            if case .recipientsPerMessage = breach.kind { refusal = .tooManyRecipients } else { refusal = .overWindowLimit }
            return render(refusal, path: path) { templates in
                var values = base(account: account)
                values["limit"] = String(breach.limit)
                values["count"] = String(breach.count)
                if case .window(let metric, let window) = breach.kind {
                    values["what"] = templates.metricNames[metric] ?? metric.rawValue
                    values["window"] = templates.windowPhrases[window] ?? window.description
                } else {
                    values["what"] = templates.metricNames[.recipients] ?? "recipients"
                    values["window"] = ""
                }
                values["retry_time"] = breach.retryAt.map { clockTime($0, now: now) } ?? "-"
                values["retry_in"] = breach.retryAt.map { Self.span($0 - now) } ?? "-"
                return values
            }
        case .locked(let lock):
            return render(.locked, path: path) { _ in
                var values = base(account: account)
                values["reason"] = ReplyText.sanitizeValue(lock.reason)
                values["locked_at"] = clockTime(lock.lockedAt, now: now)
                return values
            }
        }
    }

    private func base(account: AccountName) -> [String: String] {
        ["account": ReplyText.sanitizeValue(account.value), "contact": ReplyText.sanitizeValue(contact)]
    }

    private func render(
        _ refusal: ReplyTable.RefusalClass, path: SubmissionPath,
        values: (NoticeTemplates) -> [String: String]
    ) -> SMTPReply {
        let status = ReplyTable.status(refusal, path: path)
        var lines: [String] = []
        var bounceParts: [String] = []
        for templates in languages {
            let notice: NoticeTemplates.Notice = switch refusal {
            case .overWindowLimit: templates.overLimit
            case .tooManyRecipients: templates.tooManyRecipients
            case .locked: templates.locked
            }
            let filled = values(templates)
            lines += notice.smtp.map { Self.fill($0, filled) }
            bounceParts.append(Self.fill(notice.bounce, filled))
        }
        switch path {
        case .smtp, .relay:
            return SMTPReply(code: status.code, enhancedCode: status.enhancedCode, lines: lines.map(ReplyText.finishLine))
        case .local:
            // One line: Postfix turns line breaks into "__" in the bounce.
            return SMTPReply(code: status.code, enhancedCode: status.enhancedCode,
                             lines: [ReplyText.finishLine(bounceParts.joined(separator: " / "))])
        }
    }

    /// Replaces `{name}` placeholders; unknown ones are left as written (the config
    /// loader has already refused them).
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            if let value = values[name] { out += value } else { out += rest[open...close] }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }

    /// "14:05" today, "2026-11-27 14:05" another day, in the configured time zone.
    func clockTime(_ time: UnixTime, now: UnixTime) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let date = Date(timeIntervalSince1970: Double(time.milliseconds) / 1000)
        let today = Date(timeIntervalSince1970: Double(now.milliseconds) / 1000)
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let clock = String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
        if calendar.isDate(date, inSameDayAs: today) { return clock }
        return String(format: "%04d-%02d-%02d ", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0) + clock
    }

    /// "45 s", "12 min", "2 h 05": readable in French and English alike.
    static func span(_ duration: Duration) -> String {
        let seconds = max(0, Int((Double(duration.milliseconds) / 1000).rounded(.up)))
        if seconds < 60 { return "\(seconds) s" }
        let minutes = (seconds + 59) / 60
        if minutes < 60 { return "\(minutes) min" }
        return String(format: "%d h %02d", minutes / 60, minutes % 60)
    }
}
