import Foundation
import Testing
import VigieCore
@testable import VigieConfig
import VigieReply

/// Every configured value that reaches a reply is bounded at load, with file:line:key,
/// instead of passing --check-config and being cut (or bloating replies) at run time.
@Suite("Bounds on what reaches a reply")
struct NoticeBoundsTests {
    @Test func aOneMegabyteContactIsRefusedWithFileLineAndKey() throws {
        let huge = String(repeating: "a", count: 1_048_576)
        let error = try #require(configError("[notices]\ncontact = \"\(huge)\"\n"))
        #expect(error.file == inlineFile)
        #expect(error.line == 2)
        #expect(error.key == "notices.contact")
        #expect(error.message.contains("1048576"), "\(error.message.prefix(300))")
        #expect(error.message.contains("at most \(ReplyText.maximumValueCharacters) characters"), "\(error.message.prefix(300))")
        #expect(error.description.utf8.count < 400, "one readable line, without the value")
    }

    @Test func theLongestContactThatIsShownWholeIsAccepted() throws {
        let longest = String(repeating: "a", count: ReplyText.maximumValueCharacters - 12) + "@example.org"
        #expect(try configuration("[notices]\ncontact = \"\(longest)\"\n").notices.contact == longest)
        #expect(configError("[notices]\ncontact = \"a\(longest)\"\n")?.key == "notices.contact")
        // Bytes count too: 50 characters of a CJK script are 150 bytes.
        let wide = String(repeating: "日", count: 50)
        #expect(configError("[notices]\ncontact = \"\(wide)\"\n")?.key == "notices.contact")
    }

    func templates(_ text: String) throws(ConfigError) -> NoticeTemplates {
        try NoticeTemplates(parsing: TOMLDocument(parsing: text, file: "/etc/vigie/notices/xx.toml"), language: "xx")
    }

    func noticeError(_ text: String) -> ConfigError? {
        do {
            _ = try templates(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func aLongWordIsRefused() throws {
        let long = String(repeating: "w", count: ReplyText.maximumValueCharacters + 1)
        let text = NoticeTemplatesTests.validNotice.replacingOccurrences(of: "minute = \"the last minute\"", with: "minute = \"\(long)\"")
        let error = try #require(noticeError(text))
        #expect(error.key == "words.minute")
        #expect(error.line == 4)
        #expect(error.message.contains("at most \(ReplyText.maximumValueCharacters) characters"), "\(error)")
    }

    /// A template line under 900 bytes whose placeholders, filled in with the longest
    /// values they can have, pass Postfix's 980 bytes: it would be cut in the reply.
    @Test func aLineThatWouldBeCutOnceFilledInIsRefused() throws {
        let padding = String(repeating: "x", count: 600)
        let text = NoticeTemplatesTests.validNotice.replacingOccurrences(
            of: "smtp = [\"{account} locked at {locked_at}: {reason}. Write to {contact}.\"]",
            with: "smtp = [\"ok\", \"\(padding) {account} {reason}\"]")
        let error = try #require(noticeError(text))
        #expect(error.key == "locked.smtp")
        #expect(error.message.contains("line 2 of the reply"), "\(error)")
        #expect(error.message.contains("980"), "\(error)")
        // The same line with one placeholder fewer fits.
        let fits = NoticeTemplatesTests.validNotice.replacingOccurrences(
            of: "smtp = [\"{account} locked at {locked_at}: {reason}. Write to {contact}.\"]",
            with: "smtp = [\"ok\", \"\(padding) {reason}\"]")
        #expect(noticeError(fits) == nil)
    }

    @Test func aBounceThatWouldBeCutOnceFilledInIsRefused() throws {
        let padding = String(repeating: "y", count: 500)
        let text = NoticeTemplatesTests.validNotice.replacingOccurrences(
            of: "bounce = \"{account} locked.\"", with: "bounce = \"\(padding) {account} {reason}\"")
        let error = try #require(noticeError(text))
        #expect(error.key == "locked.bounce")
        #expect(error.message.contains("980"), "\(error)")
    }

    @Test func theShippedNoticesFitWithTheLongestValues() throws {
        _ = try configuration("[notices]\ncontact = \"\(String(repeating: "c", count: 52))@example.org\"\n")
    }
}
