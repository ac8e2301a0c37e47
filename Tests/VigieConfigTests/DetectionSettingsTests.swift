import Testing
import VigieCore
@testable import VigieConfig

/// `[detection]` and the group and account `detection` tables (issue 10).
@Suite("Config: [detection]") struct DetectionSettingsTests {
    @Test func absentMeansOnWithTheBuiltInThresholds() throws {
        let config = try configuration("")
        #expect(config.policy.detection == DetectionSettings())
        #expect(config.policy.detection.enabled && config.policy.detection.lock == 100)
    }

    @Test func everyKeyIsRead() throws {
        let config = try configuration("""
            [detection]
            enabled = true
            watch = "off"
            lock = 250
            half_life = "6h"
            learning_period = "0s"
            established_after = "2d"
            history_retention = "30d"
            """)
        let detection = config.policy.detection
        #expect(detection.watch == nil && detection.lock == 250)
        #expect(detection.halfLife == .seconds(6 * 3600) && detection.learningPeriod == .seconds(0))
        #expect(detection.establishedAfter == .seconds(2 * 86_400) && detection.historyRetention == .seconds(30 * 86_400))
        #expect(try configuration("[detection]\nenabled = false\n").policy.detection.enabled == false)
    }

    @Test func groupAndAccountThresholds() throws {
        let config = try configuration("""
            [groups.newsletter.detection]
            lock = "off"
            [accounts.Tresorier.detection]
            watch = 200
            lock = 400
            """)
        #expect(config.policy.limits.groups["newsletter"]?.detectionLock == .unlimited)
        #expect(config.policy.limits.groups["newsletter"]?.detectionWatch == nil)
        let account = AccountName(normalized: "tresorier")
        #expect(config.policy.limits.accounts[account]?.detectionWatch == .maximum(200))
        let resolved = config.policy.limits.resolve(for: account, memberOf: ["newsletter"], detection: config.policy.detection)
        #expect(resolved.detectionLock == ResolvedLimit(value: .maximum(400), source: .account))
        let member = config.policy.limits.resolve(for: AccountName(normalized: "gazette"), memberOf: ["newsletter"],
                                                  detection: config.policy.detection)
        #expect(member.detectionLock == ResolvedLimit(value: .unlimited, source: .group("newsletter")))
        #expect(member.detectionWatch == ResolvedLimit(value: .maximum(60), source: .defaults))
    }

    @Test(arguments: [
        ("[detection]\nwatch = 0\n", 2, "detection.watch"),
        ("[detection]\nwatch = -3\n", 2, "detection.watch"),
        ("[detection]\nlock = \"never\"\n", 2, "detection.lock"),
        ("[detection]\nlock = 1.5\n", 2, "detection.lock"),
        ("[detection]\nwatch = 100\nlock = 100\n", 2, "detection.watch"),
        ("[detection]\nhalf_life = \"10s\"\n", 2, "detection.half_life"),
        ("[detection]\nhalf_life = \"12 hours\"\n", 2, "detection.half_life"),
        ("[detection]\nlearning_period = \"91d\"\n", 2, "detection.learning_period"),
        ("[detection]\nestablished_after = 20\n", 2, "detection.established_after"),
        ("[detection]\nhistory_retention = \"1h\"\n", 2, "detection.history_retention"),
        ("[detection]\nenabled = \"yes\"\n", 2, "detection.enabled"),
        ("[detection]\nthreshold = 5\n", 2, "detection.threshold"),
        ("\n[groups.staff.detection]\nwatch = 50\nlock = 10\n", 3, "groups.staff.detection.watch"),
        ("\n[groups.staff.detection]\nhalf_life = \"1h\"\n", 3, "groups.staff.detection.half_life"),
        ("\n\n[accounts.bob.detection]\nlock = 0\n", 4, "accounts.bob.detection.lock"),
    ])
    func badValuesNameFileLineAndKey(text: String, line: Int, key: String) throws {
        let error = try #require(configError(text))
        #expect(error.file == inlineFile)
        #expect(error.line == line, "\(error)")
        #expect(error.key == key, "\(error)")
    }
}
