import VigieCore
import VigieReply

/// Reading a language's notice file (`notices/LANG.toml`) into `NoticeTemplates`.
///
/// File format:
/// ```toml
/// [words]
/// messages = "messages"            # {what}
/// recipients = "destinataires"
/// minute = "la dernière minute"    # {window}
/// hour = "la dernière heure"
/// day = "les dernières 24 heures"
/// [over_limit]
/// smtp = ["line", "line"]          # the SMTP reply a mail client shows
/// bounce = "one line"              # local sendmail(1) path: lands in the bounce
/// [too_many_recipients]
/// ...
/// [locked]
/// ...
/// ```
/// Every key is required. Texts may use only `NoticeTemplates.placeholders`.
extension NoticeTemplates {
    /// Most lines in an SMTP reply. libmilter takes 32; a client shows a few.
    public static let maximumSMTPLines = 8
    /// Most bytes in one template line before placeholders are filled in. Postfix
    /// takes 980 per reply line; the rest is room for the values.
    public static let maximumLineBytes = 900

    static let noticeKeys = ["over_limit", "too_many_recipients", "locked"]
    static let wordKeys = ["messages", "recipients", "minute", "hour", "day"]

    /// Reads `directory/LANGUAGE.toml`. `contact` is the `{contact}` the lines will
    /// carry, for the check that they fit in a reply line; nil counts the longest.
    public static func load(language: String, directory: String, contact: String? = nil) throws(ConfigError) -> NoticeTemplates {
        let path = ConfigFile.join(directory, language + ".toml")
        return try NoticeTemplates(parsing: ConfigFile.parse(path), language: language, contact: contact)
    }

    /// Reads a notice file already parsed.
    public init(parsing document: TOMLDocument, language: String, contact: String? = nil) throws(ConfigError) {
        let root = ConfigSection(table: document.root, path: [], location: nil, file: document.file)
        try root.allowOnly(["words"] + Self.noticeKeys)

        guard let words = try root.section("words", describing: Self.wordKeys.joined(separator: ", ")) else {
            throw root.missing("words", "the [words] table (\(Self.wordKeys.joined(separator: ", ")))")
        }
        try words.allowOnly(Self.wordKeys)
        var phrases: [String: String] = [:]
        for key in Self.wordKeys {
            guard let word = try words.string(key) else { throw words.missing(key, "the word or phrase for {\(key == "messages" || key == "recipients" ? "what" : "window")}") }
            if TextCheck.isBlank(word) { throw words.error(key, "is empty") }
            if let control = TextCheck.controlCharacter(in: word) { throw words.error(key, "contains \(control)") }
            if word.utf8.contains(UInt8(ascii: "{")) || word.utf8.contains(UInt8(ascii: "}")) { throw words.error(key, "a word cannot contain placeholders or braces") }
            if let problem = TextCheck.replyValueProblem(word) { throw words.error(key, problem) }
            phrases[key] = word
        }

        func longest(_ keys: [String]) -> Int { keys.map { Self.finishedBytes(phrases[$0]!) }.max() ?? 0 }
        var wordBytes = ["what": longest(["messages", "recipients"]), "window": longest(["minute", "hour", "day"])]
        // Without the contact (a notice file checked on its own), the longest one
        // `[notices] contact` admits, taken without `%` (rare in an address).
        wordBytes["contact"] = contact.map { Self.finishedBytes(ReplyText.sanitizeValue($0)) } ?? ReplyText.maximumValueBytes
        /// Why `line`, filled in with the longest values its placeholders can take,
        /// would pass Postfix's reply line limit and be cut, or nil.
        func cutProblem(_ line: String) -> String? {
            let bytes = Self.worstCaseBytes(line, wordBytes: wordBytes)
            guard bytes > ReplyText.maximumLineBytes else { return nil }
            return "can be \(bytes) bytes long once its placeholders are filled in (each text value up to \(2 * ReplyText.maximumValueBytes) bytes, % doubled), and Postfix cuts reply lines at \(ReplyText.maximumLineBytes) bytes; shorten it or split it into two lines"
        }

        func notice(_ key: String) throws(ConfigError) -> Notice {
            let allowed = Self.placeholdersByNotice[key] ?? Self.placeholders
            guard let section = try root.section(key, describing: "smtp and bounce") else {
                throw root.missing(key, "the [\(key)] table (smtp, bounce)")
            }
            try section.allowOnly(["smtp", "bounce"])
            guard let smtp = try section.strings("smtp") else { throw section.missing("smtp", "the SMTP reply lines (smtp = [\"...\", \"...\"])") }
            guard !smtp.isEmpty, smtp.count <= Self.maximumSMTPLines else {
                throw section.error("smtp", "expected 1 to \(Self.maximumSMTPLines) lines, got \(smtp.count)")
            }
            guard smtp.contains(where: { !TextCheck.isBlank($0) }) else { throw section.error("smtp", "every line is empty") }
            for (number, line) in smtp.enumerated() {
                if let problem = Self.problem(inTemplate: line, allowed: allowed) ?? cutProblem(line) {
                    throw section.error("smtp", "line \(number + 1) of the reply: \(problem)")
                }
            }
            guard let bounce = try section.string("bounce") else { throw section.missing("bounce", "the one-line text for the bounce (bounce = \"...\")") }
            if TextCheck.isBlank(bounce) { throw section.error("bounce", "is empty") }
            if let problem = Self.problem(inTemplate: bounce, allowed: allowed) ?? cutProblem(bounce) {
                throw section.error("bounce", problem)
            }
            return Notice(smtp: smtp, bounce: bounce)
        }

        self.init(
            language: language,
            overLimit: try notice("over_limit"),
            tooManyRecipients: try notice("too_many_recipients"),
            locked: try notice("locked"),
            metricNames: [.messages: phrases["messages"]!, .recipients: phrases["recipients"]!],
            windowPhrases: [.minute: phrases["minute"]!, .hour: phrases["hour"]!, .day: phrases["day"]!]
        )
    }

    /// The placeholders that have a value in each notice (what `NoticeRenderer`
    /// fills in): a locked account has no limit or retry time, and a message with too
    /// many recipients will never fit, so it has no retry time either. Any other
    /// placeholder would reach the member as written, braces and all.
    static let placeholdersByNotice: [String: Set<String>] = [
        "over_limit": ["account", "contact", "count", "limit", "what", "window", "retry_time", "retry_in"],
        "too_many_recipients": ["account", "contact", "count", "limit", "what"],
        "locked": ["account", "contact", "reason", "locked_at"],
    ]

    /// The most bytes each placeholder can put in a finished line (`ReplyText.finishLine`
    /// doubles `%`): the configured words and contact as they are, text from outside
    /// (account, lock reason) cut to `ReplyText.maximumValueBytes` (`sanitizeValue`);
    /// numbers and times have a fixed width.
    static func worstCaseValueBytes(_ name: String, wordBytes: [String: Int]) -> Int {
        switch name {
        case "what", "window", "contact": wordBytes[name] ?? 2 * ReplyText.maximumValueBytes
        case "count", "limit": 20              // Int.max has 19 digits
        case "retry_time", "locked_at": 16     // "2026-11-27 14:05"
        case "retry_in": 16                    // "24 h 00"; spans are within a day
        default: 2 * ReplyText.maximumValueBytes  // account, reason
        }
    }

    /// A template's length once finished with the longest values (placeholders are
    /// already known valid: unknown ones count as text).
    static func worstCaseBytes(_ template: String, wordBytes: [String: Int]) -> Int {
        var total = 0
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            total += finishedBytes(rest[..<open])
            total += worstCaseValueBytes(String(rest[rest.index(after: open)..<close]), wordBytes: wordBytes)
            rest = rest[rest.index(after: close)...]
        }
        return total + finishedBytes(rest)
    }

    /// Bytes of literal text in a finished line: `%` is doubled.
    static func finishedBytes(_ text: some StringProtocol) -> Int {
        text.utf8.count + text.utf8.lazy.filter { $0 == UInt8(ascii: "%") }.count
    }

    /// What is wrong with one template line, or nil: a line break, a control
    /// character, length, or a placeholder that is unknown or has no value here.
    static func problem(inTemplate text: String, allowed: Set<String> = placeholders) -> String? {
        if text.utf8.contains(0x0A) || text.utf8.contains(0x0D) {  // LF, CR
            return "a line cannot contain a line break (for the SMTP reply, make it another element of the array; the bounce is one line)"
        }
        if let control = TextCheck.controlCharacter(in: text) { return "contains \(control)" }
        if text.utf8.count > maximumLineBytes {
            return "is \(text.utf8.count) bytes long; the most is \(maximumLineBytes) (Postfix cuts reply lines at 980 bytes, and the placeholders need room)"
        }
        // Scanned as UTF-8: braces are ASCII, so byte offsets cut on character boundaries.
        let bytes = Array(text.utf8)
        var position = 0
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "}") { return "a '}' without its '{'; braces only surround placeholders such as {count}" }
            guard byte == UInt8(ascii: "{") else {
                position += 1
                continue
            }
            var close = position + 1
            while close < bytes.count, bytes[close] != UInt8(ascii: "}"), bytes[close] != UInt8(ascii: "{") { close += 1 }
            guard close < bytes.count, bytes[close] == UInt8(ascii: "}") else {
                return "a '{' without its '}'; braces only surround placeholders such as {count}"
            }
            let name = String(decoding: bytes[(position + 1)..<close], as: UTF8.self)
            if !placeholders.contains(name) {
                var message = "unknown placeholder {\(name)}"
                if let suggestion = KeySuggestion.closest(to: name, among: allowed.sorted()) {
                    message += " (did you mean {\(suggestion)}?)"
                }
                return message + "; here the placeholders are " + allowed.sorted().map { "{\($0)}" }.joined(separator: " ")
            }
            if !allowed.contains(name) {
                return "{\(name)} has no value in this notice; here the placeholders are " + allowed.sorted().map { "{\($0)}" }.joined(separator: " ")
            }
            position = close + 1
        }
        return nil
    }
}
