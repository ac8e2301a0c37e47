import Foundation
import Testing
import VigieCore
@testable import VigieConfig

@Suite("Loader: files and conf.d")
struct ConfigLoaderTests {
    @Test func shippedConfigurationLoads() throws {
        let config = try ConfigLoader.load(path: shippedConfig)
        #expect(config.sources.first == shippedConfig)
        #expect(config.sources.suffix(2) == [shippedNotices + "/fr.toml", shippedNotices + "/en.toml"])
        #expect(config.daemon.socket == .unix(path: "/var/spool/postfix/vigie/milter.sock"))
        #expect(config.daemon.socket.libmilterSpec == "unix:/var/spool/postfix/vigie/milter.sock")

        let limits = config.policy.limits
        #expect(limits.defaults == VigieConfiguration.defaultLimits)
        #expect(limits.defaults.messages == [.minute: .maximum(20), .hour: .maximum(150), .day: .maximum(500)])
        #expect(limits.defaults.recipients == [.minute: .maximum(100), .hour: .maximum(500), .day: .maximum(1500)])
        #expect(limits.defaults.recipientsPerMessage == .maximum(50))
        #expect(limits.groups.keys.sorted() == ["newsletter"])
        #expect(limits.groups["newsletter"] == SendLimitsLayer(
            recipients: [.minute: .maximum(1000), .hour: .maximum(3000), .day: .maximum(5000)],
            recipientsPerMessage: .maximum(1000), burstRecipients: .maximum(2000),
            detectionWatch: .unlimited, detectionLock: .unlimited))
        #expect(limits.accounts.isEmpty)
        #expect(config.policy.detection == DetectionSettings(enabled: true, watch: 60, lock: 100, halfLife: .seconds(12 * 3600),
                                                             learningPeriod: .seconds(7 * 86_400),
                                                             establishedAfter: .seconds(20 * 3600),
                                                             historyRetention: .seconds(90 * 86_400)))

        #expect(config.policy.exemptions.accounts == [AccountName(normalized: "root"), AccountName(normalized: "vigie")])
        #expect(config.policy.exemptions.recipients == ["postmaster", "abuse"])
        #expect(config.policy.burst == BurstRule(messages: 40, recipients: 400, window: .seconds(600), refusalsInARow: 10))
        #expect(config.notices.languageTags == ["fr", "en"])
        #expect(config.notices.contact == "postmaster@localhost")
        #expect(config.notify == NotifySettings())
        #expect(config.postfix == PostfixSettings())
    }

    /// The shipped file documents every default: loading it must give what an
    /// empty file gives, apart from what it deliberately adds.
    @Test func shippedConfigurationMatchesTheBuiltInDefaults() throws {
        let shipped = try ConfigLoader.load(path: shippedConfig)
        let empty = try configuration("")
        #expect(shipped.daemon == empty.daemon)
        #expect(shipped.identity == empty.identity)
        #expect(shipped.policy.limits.defaults == empty.policy.limits.defaults)
        #expect(shipped.policy.groupCacheLifetime == empty.policy.groupCacheLifetime)
        #expect(shipped.notices.contact == empty.notices.contact)
        #expect(shipped.notices.languages == empty.notices.languages)
        #expect(shipped.notify == empty.notify)
        #expect(shipped.postfix == empty.postfix)
    }

    @Test func confDirectoryOverridesKeyByKeyInNameOrder() throws {
        let directory = try TemporaryDirectory()
        try directory.copyShippedNotices()
        let main = try directory.write("vigie.toml", """
        [limits.messages]
        per_minute = 10
        per_hour = 100
        [exempt]
        accounts = ["root", "vigie"]
        [groups.newsletter]
        recipients_per_message = 30
        """)
        let first = try directory.write("conf.d/10-site.toml", "[limits.messages]\nper_hour = 200\nper_day = 900\n")
        let second = try directory.write("conf.d/20-host.toml", """
        [limits.messages]
        per_hour = 300
        [exempt]
        accounts = ["backup"]
        [groups.newsletter.recipients]
        per_day = 4000
        """)
        try directory.write("conf.d/.hidden.toml", "this is not toml")
        try directory.write("conf.d/30-old.toml.dpkg-old", "nor this")
        try directory.write("conf.d/40-backup.toml~", "nor this")
        try directory.write("conf.d/README", "nor this")

        let config = try ConfigLoader.load(path: main)
        #expect(config.sources == [main, first, second, directory.path + "/notices/fr.toml", directory.path + "/notices/en.toml"])
        #expect(config.notices.directory == directory.path + "/notices")
        let messages = config.policy.limits.defaults.messages
        #expect(messages == [.minute: .maximum(10), .hour: .maximum(300), .day: .maximum(900)])
        // Arrays are replaced whole, tables merge.
        #expect(config.policy.exemptions.accounts == [AccountName(normalized: "backup")])
        #expect(config.policy.limits.groups["newsletter"] ==
                SendLimitsLayer(recipients: [.day: .maximum(4000)], recipientsPerMessage: .maximum(30)))
    }

    @Test func errorInAConfDFileNamesThatFile() throws {
        let directory = try TemporaryDirectory()
        try directory.copyShippedNotices()
        let main = try directory.write("vigie.toml", "[limits.messages]\nper_hour = 100\n")
        let local = try directory.write("conf.d/50-local.toml", "# local\n[limits.messages]\nper_hour = -5\n")
        #expect(throws: ConfigError(file: local, line: 3, key: "limits.messages.per_hour",
                                    message: "expected a positive integer or \"unlimited\", got -5")) {
            try ConfigLoader.load(path: main)
        }
    }

    @Test func unknownKeyInAConfDFileNamesThatFile() throws {
        let directory = try TemporaryDirectory()
        try directory.copyShippedNotices()
        let main = try directory.write("vigie.toml", "[daemon]\nuser = \"vigie\"\n")
        let local = try directory.write("conf.d/50-local.toml", "[daemon]\nusr = \"other\"\n")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: main) }
        #expect(error.description == "\(local):2: daemon.usr: unknown key; did you mean user?")
    }

    @Test func syntaxErrorInAConfDFileNamesThatFile() throws {
        let directory = try TemporaryDirectory()
        try directory.copyShippedNotices()
        let main = try directory.write("vigie.toml", "")
        let local = try directory.write("conf.d/50-local.toml", "\n\n[limits\n")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: main) }
        #expect(error.file == local)
        #expect(error.line == 3)
    }

    @Test func aConfDValueOfAnotherTypeReplacesAndIsChecked() throws {
        let directory = try TemporaryDirectory()
        try directory.copyShippedNotices()
        let main = try directory.write("vigie.toml", "[limits.messages]\nper_hour = 100\n")
        let local = try directory.write("conf.d/50-local.toml", "[limits]\nmessages = 5\n")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: main) }
        #expect(error.file == local)
        #expect(error.key == "limits.messages")
    }

    @Test func missingMainFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/absent.toml"
        #expect(throws: ConfigError(file: path, line: nil, key: nil, message: "no such file")) {
            try ConfigLoader.load(path: path)
        }
        #expect(ConfigError(file: path, line: nil, key: nil, message: "no such file").description == "\(path): no such file")
    }

    @Test func mainFileThatIsADirectory() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: ConfigError(file: directory.path, line: nil, key: nil, message: "is a directory, expected a file")) {
            try ConfigLoader.load(path: directory.path)
        }
    }

    @Test func confDThatIsAFile() throws {
        let directory = try TemporaryDirectory()
        try directory.copyShippedNotices()
        let main = try directory.write("vigie.toml", "")
        let confD = try directory.write("conf.d", "")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: main) }
        #expect(error.file == confD)
        #expect(error.message.contains("is not a directory"))
    }

    @Test func missingNoticesNextToTheMainFile() throws {
        let directory = try TemporaryDirectory()
        let main = try directory.write("vigie.toml", "[notices]\nlanguages = [\"fr\"]\n")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: main) }
        #expect(error.file == main)
        #expect(error.line == 2)
        #expect(error.key == "notices.languages")
        #expect(error.message == "no notice file for language \"fr\": \(directory.path)/notices/fr.toml does not exist")
    }

    @Test func invalidUTF8FileIsRefusedWithItsLine() throws {
        let directory = try TemporaryDirectory()
        let main = directory.path + "/vigie.toml"
        try Data(Array("# ok\n# caf".utf8) + [0xE9] + Array("\n".utf8)).write(to: URL(fileURLWithPath: main))
        #expect(throws: ConfigError(file: main, line: 2, key: nil, message: "not valid UTF-8 (byte 0xE9)")) {
            try ConfigLoader.load(path: main)
        }
    }

    @Test func confDirectoryIsNextToTheMainFile() {
        #expect(ConfigLoader.confDirectory(forMainFile: "/etc/vigie/vigie.toml") == "/etc/vigie/conf.d")
        #expect(ConfigLoader.confDirectory(forMainFile: "vigie.toml") == "conf.d")
        #expect(ConfigLoader.confDirectory(forMainFile: "/vigie.toml") == "/conf.d")
    }

    @Test func mergeReplacesLeavesAndMergesTables() throws {
        let base = try toml("a = 1\nlist = [1, 2]\n[t]\nx = 1\ny = 2\n[t.sub]\nz = 3\n")
        let overlay = try TOMLDocument(parsing: "list = [3]\nnew = true\n[t]\ny = 20\n[t.sub]\nw = 4\n", file: "o.toml").root
        let merged = base.merging(overlay)
        #expect(merged.keys == ["a", "list", "t", "new"])
        #expect(merged["a"]?.integer == 1)
        #expect(merged["list"]?.array?.compactMap(\.integer) == [3])
        #expect(merged["list"]?.location.file == "o.toml")
        let t = try #require(merged["t"]?.table)
        #expect(t["x"]?.integer == 1)
        #expect(t["y"]?.integer == 20)
        #expect(t.entry("y")?.keyLocation.file == "o.toml")
        #expect(t["sub"]?.table?.keys == ["z", "w"])
    }
}
