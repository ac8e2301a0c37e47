import Foundation
import Testing
import VigieCore
@testable import VigieConfig
import VigieReply

@Suite("Notices")
struct NoticeTemplatesTests {
    static let validNotice = """
    [words]
    messages = "messages"
    recipients = "recipients"
    minute = "the last minute"
    hour = "the last hour"
    day = "the last 24 hours"
    [over_limit]
    smtp = ["Over {limit} {what} in {window}; retry at {retry_time} ({retry_in})."]
    bounce = "Over {limit} {what} in {window}."
    [too_many_recipients]
    smtp = ["{count} recipients, at most {limit}."]
    bounce = "{count} recipients, at most {limit}."
    [locked]
    smtp = ["{account} locked at {locked_at}: {reason}. Write to {contact}."]
    bounce = "{account} locked."
    """

    func templates(_ text: String) throws(ConfigError) -> NoticeTemplates {
        try NoticeTemplates(parsing: TOMLDocument(parsing: text, file: "/etc/vigie/notices/xx.toml"), language: "xx")
    }

    func noticeError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
        do {
            _ = try templates(text)
            Issue.record("expected a ConfigError", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func shippedNoticesLoad() throws {
        let french = try NoticeTemplates.load(language: "fr", directory: shippedNotices)
        #expect(french.language == "fr")
        #expect(french.metricNames == [.messages: "messages", .recipients: "destinataires"])
        #expect(french.windowPhrases == [.minute: "la dernière minute", .hour: "la dernière heure", .day: "les dernières 24 heures"])
        let english = try NoticeTemplates.load(language: "en", directory: shippedNotices)
        #expect(english.windowPhrases[.hour] == "the last hour")
        for notices in [french, english] {
            for notice in [notices.overLimit, notices.tooManyRecipients, notices.locked] {
                #expect((1...NoticeTemplates.maximumSMTPLines).contains(notice.smtp.count))
                #expect(notice.bounce.count < 400, "\(notices.language): \(notice.bounce)")
            }
            #expect(notices.overLimit.smtp.joined().contains("{retry_time}"))
            #expect(notices.overLimit.smtp.joined().contains("{contact}"))
            #expect(notices.overLimit.bounce.contains("{retry_time}"))
            #expect(notices.tooManyRecipients.bounce.contains("{limit}"))
            #expect(notices.tooManyRecipients.bounce.contains("{count}"))
            #expect(notices.locked.bounce.contains("{contact}"))
        }
    }

    /// French typography: a space before the double punctuation marks, and the
    /// typographic apostrophe.
    @Test func frenchTypography() throws {
        let french = try NoticeTemplates.load(language: "fr", directory: shippedNotices)
        let texts = [french.overLimit, french.tooManyRecipients, french.locked].flatMap { $0.smtp + [$0.bounce] }
        for text in texts {
            let characters = Array(text)
            for (index, character) in characters.enumerated() where ":;?!".contains(character) {
                #expect(index > 0 && (characters[index - 1] == " " || characters[index - 1] == "\u{A0}" || characters[index - 1] == "\u{202F}"),
                        "no space before \(character) in: \(text)")
            }
            #expect(!text.contains("'"), "straight apostrophe in: \(text)")
        }
    }

    /// The notices as a member reads them, with the longest values the renderer
    /// lets through: every placeholder is filled, and the one-line bounce of both
    /// languages together still fits in a reply line.
    @Test func shippedNoticesRenderCompletely() throws {
        let config = try configuration("[notices]\ncontact = \"postmaster@association-exemple.org\"")
        let renderer = NoticeRenderer(languages: config.notices.languages, contact: config.notices.contact,
                                      timeZone: TimeZone(identifier: "Europe/Paris")!)
        let account = AccountName(normalized: String(repeating: "a", count: 64))
        let now = UnixTime(seconds: 1_800_000_000)
        let verdicts: [Verdict] = [
            .overLimit(LimitBreach(kind: .window(.recipients, .day), limit: 1500, count: 1499, retryAt: now + .seconds(86_000))),
            .overLimit(LimitBreach(kind: .recipientsPerMessage, limit: 50, count: 51, retryAt: nil)),
            .locked(AccountLock(account: account, lockedAt: UnixTime(seconds: 1_799_000_000), actor: "vigie",
                                reason: String(repeating: "r", count: 200))),
        ]
        for verdict in verdicts {
            for path in [SubmissionPath.smtp, .local] {
                let reply = try #require(renderer.reply(for: verdict, account: account, path: path, now: now))
                for line in reply.lines {
                    #expect(!line.contains("{") && !line.contains("}"), "unfilled placeholder: \(line)")
                    #expect(line.utf8.count <= ReplyText.maximumLineBytes)
                }
                if path == .local {
                    #expect(reply.lines.count == 1)
                    // Not cut: the English text's last word made it in.
                    #expect(reply.lines[0].utf8.count < ReplyText.maximumLineBytes, "\(reply.lines[0].utf8.count) bytes")
                    #expect(reply.lines[0].hasSuffix("."), "\(reply.lines[0])")
                }
            }
        }
    }

    @Test func validNoticeFileLoads() throws {
        let notice = try templates(Self.validNotice)
        #expect(notice.locked.smtp == ["{account} locked at {locked_at}: {reason}. Write to {contact}."])
    }

    @Test func unknownPlaceholderIsRefusedWithASuggestion() throws {
        let text = Self.validNotice.replacingOccurrences(of: "retry at {retry_time}", with: "retry at {retry_tme}")
        let error = try #require(noticeError(text))
        #expect(error.file == "/etc/vigie/notices/xx.toml")
        #expect(error.line == 8)
        #expect(error.key == "over_limit.smtp")
        #expect(error.message.hasPrefix("line 1 of the reply: unknown placeholder {retry_tme} (did you mean {retry_time}?); here the placeholders are {account} {contact} {count} {limit} {retry_in} {retry_time} {what} {window}"))
    }

    /// (replace, with, key, fragment)
    static let broken: [(String, String, String, String)] = [
        ("bounce = \"{account} locked.\"", "bounce = \"{account} locked {count}.\"", "locked.bounce", "{count} has no value in this notice"),
        ("bounce = \"{count} recipients, at most {limit}.\"", "bounce = \"retry at {retry_time}\"", "too_many_recipients.bounce", "{retry_time} has no value"),
        ("bounce = \"Over {limit} {what} in {window}.\"", "bounce = \"Over {limit\"", "over_limit.bounce", "a '{' without its '}'"),
        ("bounce = \"Over {limit} {what} in {window}.\"", "bounce = \"Over limit}\"", "over_limit.bounce", "a '}' without its '{'"),
        ("bounce = \"Over {limit} {what} in {window}.\"", "bounce = \"Over\\nlimit\"", "over_limit.bounce", "cannot contain a line break"),
        ("bounce = \"Over {limit} {what} in {window}.\"", "bounce = \"\"", "over_limit.bounce", "is empty"),
        ("bounce = \"Over {limit} {what} in {window}.\"", "bounce = \"\(String(repeating: "é", count: 451))\"", "over_limit.bounce", "902 bytes long"),
        ("smtp = [\"{count} recipients, at most {limit}.\"]", "smtp = []", "too_many_recipients.smtp", "expected 1 to 8 lines, got 0"),
        ("smtp = [\"{count} recipients, at most {limit}.\"]", "smtp = [\(Array(repeating: "\"x\"", count: 9).joined(separator: ", "))]",
         "too_many_recipients.smtp", "expected 1 to 8 lines, got 9"),
        ("smtp = [\"{count} recipients, at most {limit}.\"]", "smtp = \"one line\"", "too_many_recipients.smtp", "expected an array of strings"),
        ("smtp = [\"{count} recipients, at most {limit}.\"]", "smtp = [\"ok\", \"bad\\u0007\"]", "too_many_recipients.smtp",
         "line 2 of the reply: contains control character U+0007"),
        ("hour = \"the last hour\"", "hour = \"\"", "words.hour", "is empty"),
        ("hour = \"the last hour\"", "hour = \"{window}\"", "words.hour", "cannot contain placeholders"),
        ("hour = \"the last hour\"", "hours = \"the last hour\"", "words.hours", "unknown key; did you mean hour?"),
        ("[locked]", "[lockd]", "lockd", "unknown key; did you mean locked?"),
    ]

    @Test(arguments: broken)
    func brokenNoticeFilesAreRefused(replace: String, with replacement: String, key: String, fragment: String) throws {
        #expect(Self.validNotice.contains(replace))
        let error = try #require(noticeError(Self.validNotice.replacingOccurrences(of: replace, with: replacement)))
        #expect(error.file == "/etc/vigie/notices/xx.toml")
        #expect(error.key == key, "\(error)")
        #expect(error.message.contains(fragment), "\(error)")
    }

    @Test func missingPartsAreNamed() throws {
        let withoutBounce = Self.validNotice.replacingOccurrences(of: "bounce = \"{account} locked.\"", with: "")
        let error = try #require(noticeError(withoutBounce))
        #expect(error.key == "locked.bounce")
        #expect(error.line == 13)
        #expect(error.message.hasPrefix("missing:"))

        let withoutWords = try #require(noticeError("[over_limit]\nsmtp = [\"x\"]\nbounce = \"x\"\n"))
        #expect(withoutWords.key == "words")
        #expect(withoutWords.line == nil)
    }

    @Test func errorsInANoticeFileNameThatFile() throws {
        let directory = try TemporaryDirectory()
        try directory.copyShippedNotices()
        let english = try directory.write("notices/en.toml",
                                          Self.validNotice.replacingOccurrences(of: "{account} locked.", with: "{acount} locked."))
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse("[notices]\ndirectory = \"\(directory.path)/notices\"\n", file: "/etc/vigie/vigie.toml")
        }
        #expect(error.file == english)
        #expect(error.line == 15)
        #expect(error.key == "locked.bounce")
        #expect(error.message.contains("unknown placeholder {acount} (did you mean {account}?)"))
    }
}
