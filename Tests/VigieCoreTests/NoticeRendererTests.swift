import Foundation
import Testing
import VigieCore
import VigieReply

/// The words a member reads: SMTP replies and one-line bounce texts, French first.
@Suite("Notices")
struct NoticeRendererTests {
    static let french = NoticeTemplates(
        language: "fr",
        overLimit: .init(
            smtp: ["Envoi refusé pour {account} : {count} {what} sur {window}, la limite est {limit}.",
                   "Vous pourrez renvoyer à {retry_time} (dans {retry_in}).",
                   "Questions : {contact}"],
            bounce: "Envoi refusé : {count} {what} sur {window} (limite {limit}), réessayez à {retry_time}, contact {contact}"),
        tooManyRecipients: .init(
            smtp: ["Trop de destinataires : {count} (au plus {limit} par message).", "Questions : {contact}"],
            bounce: "Trop de destinataires : {count} (au plus {limit})"),
        locked: .init(
            smtp: ["Le compte {account} est bloqué depuis {locked_at} : {reason}.", "Écrivez à {contact}."],
            bounce: "Compte {account} bloqué : {reason}, écrivez à {contact}"),
        metricNames: [.messages: "messages", .recipients: "destinataires"],
        windowPhrases: [.minute: "la dernière minute", .hour: "la dernière heure", .day: "les dernières 24 heures"])

    static let english = NoticeTemplates(
        language: "en",
        overLimit: .init(
            smtp: ["Refused for {account}: {count} {what} in {window}, the limit is {limit}.",
                   "You can send again at {retry_time} (in {retry_in}).",
                   "Questions: {contact}"],
            bounce: "Refused: {count} {what} in {window} (limit {limit}), retry at {retry_time}, contact {contact}"),
        tooManyRecipients: .init(
            smtp: ["Too many recipients: {count} (at most {limit} per message).", "Questions: {contact}"],
            bounce: "Too many recipients: {count} (at most {limit})"),
        locked: .init(
            smtp: ["Account {account} locked since {locked_at}: {reason}.", "Write to {contact}."],
            bounce: "Account {account} locked: {reason}, write to {contact}"),
        metricNames: [.messages: "messages", .recipients: "recipients"],
        windowPhrases: [.minute: "the last minute", .hour: "the last hour", .day: "the last 24 hours"])

    static let utc = TimeZone(secondsFromGMT: 0)!
    static let renderer = NoticeRenderer(languages: [french, english], contact: "admins@club.example", timeZone: utc)
    /// 2025-11-27 14:05 UTC.
    static let now = UnixTime.testMidnight + .seconds(14 * 3600 + 5 * 60)
    static let hourBreach = Verdict.overLimit(LimitBreach(kind: .window(.messages, .hour), limit: 150, count: 150,
                                                          retryAt: now + .seconds(12 * 60)))

    @Test func overLimitOverSMTP() throws {
        let reply = try #require(Self.renderer.reply(for: Self.hourBreach, account: .alice, path: .smtp, now: Self.now))
        #expect(reply.code == "450")
        #expect(reply.enhancedCode == "4.7.1")
        #expect(reply.isTemporary)
        #expect(reply.lines == [
            "Envoi refusé pour alice : 150 messages sur la dernière heure, la limite est 150.",
            "Vous pourrez renvoyer à 14:17 (dans 12 min).",
            "Questions : admins@club.example",
            "Refused for alice: 150 messages in the last hour, the limit is 150.",
            "You can send again at 14:17 (in 12 min).",
            "Questions: admins@club.example",
        ])
        #expect(reply.description.hasPrefix("450-4.7.1 Envoi refusé"))
        #expect(reply.description.hasSuffix("\n450 4.7.1 Questions: admins@club.example"))
    }

    @Test func retryTimeIsInTheConfiguredTimeZone() throws {
        let paris = NoticeRenderer(languages: [Self.french], contact: "x", timeZone: TimeZone(secondsFromGMT: 3600)!)
        let reply = try #require(paris.reply(for: Self.hourBreach, account: .alice, path: .smtp, now: Self.now))
        #expect(reply.lines[1] == "Vous pourrez renvoyer à 15:17 (dans 12 min).")
    }

    /// Seconds until the retry, the `{retry_in}` and `{retry_time}` a member reads.
    static let retryWordings: [(Int64, String, String)] = [
        (45, "45 s", "14:05"),
        (60, "1 min", "14:06"),
        (61, "2 min", "14:06"),
        (2 * 3600 + 5 * 60, "2 h 05", "16:10"),
        (18 * 3600, "18 h 00", "2025-11-28 08:05"),   // another day: the date is given
    ]

    @Test(arguments: retryWordings)
    func retryWording(seconds: Int64, retryIn: String, retryTime: String) throws {
        let verdict = Verdict.overLimit(LimitBreach(kind: .window(.recipients, .day), limit: 1500, count: 1499,
                                                    retryAt: Self.now + .seconds(seconds)))
        let reply = try #require(Self.renderer.reply(for: verdict, account: .alice, path: .smtp, now: Self.now))
        #expect(reply.lines[0] == "Envoi refusé pour alice : 1499 destinataires sur les dernières 24 heures, la limite est 1500.")
        #expect(reply.lines[1] == "Vous pourrez renvoyer à \(retryTime) (dans \(retryIn)).")
    }

    @Test func tooManyRecipientsOverSMTP() throws {
        let verdict = Verdict.overLimit(LimitBreach(kind: .recipientsPerMessage, limit: 50, count: 51, retryAt: nil))
        let reply = try #require(Self.renderer.reply(for: verdict, account: .alice, path: .smtp, now: Self.now))
        #expect((reply.code, reply.enhancedCode) == ("452", "4.5.3"))
        #expect(reply.lines == [
            "Trop de destinataires : 51 (au plus 50 par message).", "Questions : admins@club.example",
            "Too many recipients: 51 (at most 50 per message).", "Questions: admins@club.example",
        ])
    }

    @Test func lockedOverSMTP() throws {
        let lock = AccountLock(account: .alice, lockedAt: Self.now + .seconds(-(3600 + 15 * 60)), actor: "vigie",
                               reason: "burst: 41 messages in 10m (threshold 40)", id: 7)
        let reply = try #require(Self.renderer.reply(for: .locked(lock), account: .alice, path: .smtp, now: Self.now))
        #expect((reply.code, reply.enhancedCode) == ("550", "5.7.1"))
        #expect(!reply.isTemporary)
        #expect(reply.lines.first == "Le compte alice est bloqué depuis 12:50 : burst: 41 messages in 10m (threshold 40).")
        #expect(reply.lines.count == 4)
        #expect(reply.lines[2] == "Account alice locked since 12:50: burst: 41 messages in 10m (threshold 40).")
    }

    @Test func localPathGetsOneLineWithBothLanguages() throws {
        let reply = try #require(Self.renderer.reply(for: Self.hourBreach, account: .alice, path: .local, now: Self.now))
        #expect((reply.code, reply.enhancedCode) == ("550", "5.7.1"))
        #expect(reply.lines == [
            "Envoi refusé : 150 messages sur la dernière heure (limite 150), réessayez à 14:17, contact admins@club.example"
                + " / Refused: 150 messages in the last hour (limit 150), retry at 14:17, contact admins@club.example",
        ])

        let tooMany = Verdict.overLimit(LimitBreach(kind: .recipientsPerMessage, limit: 50, count: 51, retryAt: nil))
        let local = try #require(Self.renderer.reply(for: tooMany, account: .alice, path: .local, now: Self.now))
        #expect((local.code, local.enhancedCode, local.lines.count) == ("550", "5.5.3", 1))
        let lock = AccountLock(account: .alice, lockedAt: Self.now, actor: "marie", reason: "password leak")
        let locked = try #require(Self.renderer.reply(for: .locked(lock), account: .alice, path: .local, now: Self.now))
        #expect((locked.code, locked.enhancedCode) == ("550", "5.7.1"))
        #expect(locked.lines == ["Compte alice bloqué : password leak, écrivez à admins@club.example"
            + " / Account alice locked: password leak, write to admins@club.example"])
    }

    @Test func nothingToSayWhenTheMessageGoesOn() {
        let lock = AccountLock(account: .alice, lockedAt: Self.now, actor: "vigie", reason: "burst")
        for path in [SubmissionPath.smtp, .local] {
            #expect(Self.renderer.reply(for: .accept, account: .alice, path: path, now: Self.now) == nil)
            #expect(Self.renderer.reply(for: .lockedNow(lock, .refusalsInARow(10)), account: .alice, path: path,
                                        now: Self.now) == nil)
        }
    }

    // MARK: Hostile values

    static let hostile = "evil\r\nRCPT TO:<x@y>\u{0}100%\u{85}" + String(repeating: "a", count: 500)

    /// Every property the policy's reply lines must have (libmilter's own rules, `%`
    /// doubled and 32 lines at most, are the transport's: MilterReplyEncodingTests).
    static func expectSafe(_ reply: SMTPReply, sourceLocation: SourceLocation = #_sourceLocation) {
        for line in reply.lines {
            #expect(line.utf8.count <= ReplyText.maximumLineBytes, sourceLocation: sourceLocation)
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
                    "control character in \(line.debugDescription)", sourceLocation: sourceLocation)
            // Values are cut to 64 characters.
            #expect(!line.contains(String(repeating: "a", count: ReplyText.maximumValueCharacters)),
                    sourceLocation: sourceLocation)
        }
    }

    @Test func hostileValuesAreNeutralised() throws {
        let renderer = NoticeRenderer(languages: [Self.french, Self.english], contact: "admins\r\n%n" + Self.hostile,
                                      timeZone: Self.utc)
        let account = AccountName(normalized: Self.hostile)
        let lock = AccountLock(account: account, lockedAt: Self.now, actor: "marie", reason: "pwned\n550 5.7.1 " + Self.hostile)
        for path in [SubmissionPath.smtp, .local] {
            for verdict in [Self.hourBreach, .locked(lock)] {
                let reply = try #require(renderer.reply(for: verdict, account: account, path: path, now: Self.now))
                Self.expectSafe(reply)
            }
        }
        let reply = try #require(renderer.reply(for: Self.hourBreach, account: account, path: .smtp, now: Self.now))
        // CR, LF, NUL and NEL become spaces, % stays as written (the transport
        // escapes it), and the value is cut to 63 characters and an ellipsis.
        let cleaned = "evil  RCPT TO:<x@y> 100% "
        #expect(reply.lines[0] == "Envoi refusé pour \(cleaned)\(String(repeating: "a", count: 38))… : "
            + "150 messages sur la dernière heure, la limite est 150.")
        #expect(reply.lines[2] == "Questions : admins  %n\(cleaned)\(String(repeating: "a", count: 28))…")
    }

    @Test func longAndManyLinesAreCut() throws {
        // 20 lines of 20 values each, in two languages: 40 lines of about 1300 bytes.
        let line = Array(repeating: "{account} ", count: 20).joined() + "100 %"
        var templates = Self.french
        templates.overLimit = .init(smtp: Array(repeating: line, count: 20), bounce: line + line)
        let renderer = NoticeRenderer(languages: [templates, templates], contact: "x", timeZone: Self.utc)
        let account = AccountName(normalized: "é" + String(repeating: "b", count: 70))
        for path in [SubmissionPath.smtp, .local] {
            let reply = try #require(renderer.reply(for: Self.hourBreach, account: account, path: path, now: Self.now))
            Self.expectSafe(reply)
            // Every line is the policy's to give; libmilter's 32 are the transport's cut.
            #expect(reply.lines.count == (path == .smtp ? 40 : 1))
            // Cut, not dropped: each line is filled up to the limit.
            #expect(reply.lines.allSatisfy { $0.utf8.count > ReplyText.maximumLineBytes - 70 })
        }
    }

    @Test func aLineIsCutOnACharacterBoundary() {
        let line = String(repeating: "x", count: ReplyText.maximumLineBytes - 1) + "%"
        #expect(ReplyText.finishLine(line) == line, "exactly the limit: kept whole, % as written")
        let accented = String(repeating: "x", count: ReplyText.maximumLineBytes - 1) + "é"
        #expect(ReplyText.finishLine(accented) == String(repeating: "x", count: ReplyText.maximumLineBytes - 1))
    }

    @Test func unknownPlaceholdersAreLeftAsWritten() throws {
        var templates = Self.french
        templates.overLimit = .init(smtp: ["Voir {aide} ou {contact}"], bounce: "{aide}")
        let renderer = NoticeRenderer(languages: [templates], contact: "admins@club.example", timeZone: Self.utc)
        let reply = try #require(renderer.reply(for: Self.hourBreach, account: .alice, path: .smtp, now: Self.now))
        #expect(reply.lines == ["Voir {aide} ou admins@club.example"])
    }

    /// Bug report (NoticeRenderer.fill): with an opening brace and no closing one
    /// after it, the text before the brace is written twice.
    @Test func anUnclosedBraceIsLeftAsWritten() throws {
        var templates = Self.french
        templates.overLimit = .init(smtp: ["Trop d'envois {count} :-{ réessayez plus tard"], bounce: "x")
        let renderer = NoticeRenderer(languages: [templates], contact: "x", timeZone: Self.utc)
        let reply = try #require(renderer.reply(for: Self.hourBreach, account: .alice, path: .smtp, now: Self.now))
        #expect(reply.lines == ["Trop d'envois 150 :-{ réessayez plus tard"])
    }
}
