import Foundation
import VigieCore

/// `[notices]`: what a member reads when Vigie refuses a message.
public struct NoticeSettings: Sendable, Equatable {
    /// The texts, one per language, in the order they are shown (`languages`): the
    /// first language's text comes first in the reply, then the next one's.
    public var languages: [NoticeTemplates]
    /// Whom members should write to, for `{contact}` (`contact`).
    public var contact: String
    /// Where `LANG.toml` files are read from (`directory`); by default the
    /// `notices` directory next to the main configuration file.
    public var directory: String
    /// The time zone `{retry_time}` and `{locked_at}` are written in (`time_zone`,
    /// e.g. "Europe/Paris"); nil means the system's.
    public var timeZone: String?

    public init(languages: [NoticeTemplates] = [], contact: String = "postmaster@localhost",
                directory: String = "/etc/vigie/notices", timeZone: String? = nil) {
        self.languages = languages
        self.contact = contact
        self.directory = directory
        self.timeZone = timeZone
    }

    /// The language tags, in order (`["fr", "en"]`).
    public var languageTags: [String] { languages.map(\.language) }

    static let defaultLanguages = ["fr", "en"]

    /// Reads the section and every language's file; `files` collects what was read.
    init(_ section: ConfigSection, defaultDirectory: String, files: inout [String]) throws(ConfigError) {
        try section.allowOnly(["languages", "contact", "directory", "time_zone"])
        let tags = try section.strings("languages") ?? Self.defaultLanguages
        if tags.isEmpty { throw section.error("languages", "list at least one language, such as [\"fr\", \"en\"]") }
        var seen: Set<String> = []
        for tag in tags {
            guard Self.isLanguageTag(tag) else {
                throw section.error("languages", "\(TOMLValue.quote(tag)) is not a language tag such as \"fr\" or \"en\"")
            }
            guard seen.insert(tag).inserted else { throw section.error("languages", "\"\(tag)\" is listed twice") }
        }

        let contact = try section.string("contact") ?? "postmaster@localhost"
        if TextCheck.isBlank(contact) { throw section.error("contact", "is empty; give the address members should write to") }
        if let control = TextCheck.controlCharacter(in: contact) { throw section.error("contact", "contains \(control)") }
        if let problem = TextCheck.replyValueProblem(contact) { throw section.error("contact", problem) }

        let directory = try section.absolutePath("directory") ?? defaultDirectory

        let timeZone = try section.string("time_zone")
        if let timeZone, TimeZone(identifier: timeZone) == nil {
            throw section.error("time_zone", "unknown time zone \(TOMLValue.quote(timeZone)); expected a name such as \"Europe/Paris\" (see /usr/share/zoneinfo)")
        }

        var templates: [NoticeTemplates] = []
        for tag in tags {
            let path = ConfigFile.join(directory, tag + ".toml")
            do throws(ConfigError) {
                templates.append(try NoticeTemplates.load(language: tag, directory: directory, contact: contact))
            } catch where error.line == nil && error.file == path && error.message == "no such file" {
                // The language itself is what is wrong (or the directory): say so where it was chosen.
                var wrapped = section.error("languages", "no notice file for language \"\(tag)\": \(path) does not exist")
                if section.table["languages"] == nil { wrapped = section.error("directory", wrapped.message) }
                throw wrapped
            }
            files.append(path)
        }
        self.init(languages: templates, contact: contact, directory: directory, timeZone: timeZone)
    }

    /// `fr`, `en`, `pt-BR`: two or three lower-case letters, then optional subtags.
    /// Also keeps the file name inside the notices directory (no '/', no "..").
    static func isLanguageTag(_ tag: String) -> Bool {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard let primary = parts.first, (2...3).contains(primary.count),
              primary.allSatisfy({ $0.isASCII && $0.isLowercase }) else { return false }
        return parts.dropFirst().allSatisfy { part in
            (1...8).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }
}
