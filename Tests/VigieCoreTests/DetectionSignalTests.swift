import Testing
@testable import VigieCore
import VigieTestKit

/// Each signal of the suspicion score on its own, with an injected clock, then the
/// score and its explanations (issue 10).
@Suite struct NetworkPrefixTests {
    @Test func ipv4ClientsAreTheirSlash24() throws {
        #expect(NetworkPrefix(clientAddress: "198.51.100.7")?.description == "198.51.100.0/24")
        #expect(NetworkPrefix(clientAddress: "198.51.100.250") == NetworkPrefix(clientAddress: "198.51.100.1"))
        #expect(NetworkPrefix(clientAddress: "198.51.101.1") != NetworkPrefix(clientAddress: "198.51.100.1"))
        #expect(NetworkPrefix(clientAddress: "::ffff:198.51.100.7") == NetworkPrefix(clientAddress: "198.51.100.9"))
    }

    @Test func ipv6ClientsAreTheirSlash48() throws {
        #expect(NetworkPrefix(clientAddress: "2001:db8:1:2::7")?.description == "2001:db8:1::/48")
        #expect(NetworkPrefix(clientAddress: "IPv6:2001:db8:1:ffff::1") == NetworkPrefix(clientAddress: "2001:db8:1::9"))
        #expect(NetworkPrefix(clientAddress: "2001:db8:2::1") != NetworkPrefix(clientAddress: "2001:db8:1::1"))
        #expect(NetworkPrefix(clientAddress: "2001:0db8:0001:0000:0000:0000:0000:0001")?.description == "2001:db8:1::/48")
        #expect(NetworkPrefix(clientAddress: "2a01:e0a::1.2.3.4")?.description == "2a01:e0a:0::/48")
    }

    @Test func theHostItselfIsNoNetwork() {
        for local in ["127.0.0.1", "127.8.9.10", "::1", "::", "0.0.0.0", "0.0.0.1", "0.255.1.2", "::ffff:127.0.0.1", "::ffff:0.0.0.1"] {
            #expect(NetworkPrefix(clientAddress: local) == nil, "\(local)")
        }
    }

    @Test func malformedAddressesAreNil() {
        for bad in ["", "-", "unknown", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.4 ", " 1.2.3.4",
                    "1.2.3.4/24", "2001:db8::1::2", "2001:db8:::1", "12345::1", "2001:db8:1", ":1:2:3:4:5:6:7",
                    "1:2:3:4:5:6:7:8:9", "2001:db8::g", "2001:db8::1:", "[2001:db8::1]", String(repeating: "1", count: 100),
                    "1.2.3.4\u{0}", "١.٢.٣.٤"] {
            #expect(NetworkPrefix(clientAddress: bad) == nil, "\(bad.debugDescription)")
        }
    }

    @Test func randomTextNeverTrapsAndRoundTripsWhenParsed() {
        var random = SeededRandom(seed: 5)
        let alphabet = Array("0123456789abcdefABCDEF:.fxIPv6 /%")
        for _ in 0..<20_000 {
            let text = String((0..<Int(random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            if let prefix = NetworkPrefix(clientAddress: text) {
                #expect(NetworkPrefix(networkText: prefix.description) == prefix, "\(text) -> \(prefix)")
                #expect(NetworkPrefix(raw: prefix.raw) == prefix)
            }
        }
    }

    @Test func adminsWriteNetworksAsPrefixesOrAddresses() {
        #expect(NetworkPrefix(networkText: "198.51.100.0/24") == NetworkPrefix(clientAddress: "198.51.100.1"))
        #expect(NetworkPrefix(networkText: "198.51.100.77") == NetworkPrefix(clientAddress: "198.51.100.1"))
        #expect(NetworkPrefix(networkText: "2001:db8:1::/48") == NetworkPrefix(clientAddress: "2001:db8:1::1"))
        for bad in ["198.51.100.0/16", "198.51.100.0/", "2001:db8::/64", "/24", "127.0.0.0/24", "0.0.0.0/24", "x/24"] {
            #expect(NetworkPrefix(networkText: bad) == nil, "\(bad)")
        }
    }
}

@Suite struct RecipientSketchTests {
    @Test func fingerprintsFoldCaseAndBrackets() {
        #expect(RecipientFingerprint(recipient: "<Bob@Example.ORG>") == RecipientFingerprint(recipient: "bob@example.org"))
        #expect(RecipientFingerprint(recipient: "bob@example.org").domain == RecipientFingerprint(recipient: "ana@example.org").domain)
        #expect(RecipientFingerprint(recipient: "bob@example.org").address != RecipientFingerprint(recipient: "bob@example.net").address)
    }

    /// The definition the byte-level fingerprint is held to: strip, fold ASCII case,
    /// FNV-1a of the whole address and of what follows its last @.
    static func reference(_ raw: String) -> RecipientFingerprint {
        let address = Array(EnvelopeAddress.strip(raw).utf8).map { (65...90).contains($0) ? $0 | 0x20 : $0 }
        func fnv(_ bytes: ArraySlice<UInt8>) -> UInt64 {
            bytes.reduce(RecipientFingerprint.offsetBasis) { ($0 ^ UInt64($1)) &* RecipientFingerprint.prime }
        }
        let domain = address.lastIndex(of: UInt8(ascii: "@")).map { address[($0 + 1)...] } ?? []
        return RecipientFingerprint(address: RecipientFingerprint.mix(fnv(address[...])),
                                    domain: RecipientFingerprint.mix(fnv(domain) ^ 0x5EED_D0A1_05A1_7000))
    }

    @Test func theFingerprintMatchesItsDefinitionOnRandomText() {
        var random = SeededRandom(seed: 9)
        let alphabet = Array("aZ@<> \t.\"é-_09")
        for _ in 0..<20_000 {
            let text = String((0..<Int(random.next() % 30)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            #expect(RecipientFingerprint(recipient: text) == Self.reference(text), "\(text.debugDescription)")
        }
    }

    @Test func itRemembersWhatItWasToldAndRotatesInsteadOfSaturating() {
        var sketch = NoveltySketch()
        let capacity = NoveltySketch.rotateAfter
        let hashes = (0..<(capacity * 5)).map { RecipientFingerprint(recipient: "p\($0)@example.org").address }
        for (index, hash) in hashes.enumerated() {
            #expect(!sketch.insert(hash) || index > 0, "a first insertion is new")
            // The last `capacity` items are always remembered: no false "unknown".
            for recent in hashes[max(0, index - capacity + 1)...index] { #expect(sketch.contains(recent)) }
        }
        // Strangers: mostly unknown even after 5 rotations (a saturated filter would say "known" to all).
        let strangers = (0..<1000).map { RecipientFingerprint(recipient: "stranger\($0)@example.net").address }
        let falseKnown = strangers.filter(sketch.contains).count
        #expect(falseKnown < 80, "\(falseKnown) of 1000 strangers looked known")
        // What was written to long ago is forgotten.
        let forgotten = hashes[0..<capacity].filter { !sketch.contains($0) }.count
        #expect(forgotten > capacity / 2)
    }
}

@Suite struct KnownNetworksTests {
    static let home = NetworkPrefix(clientAddress: "82.64.10.7")!
    static let after = UInt32(20)

    @Test func aNetworkIsEstablishedOnlyAfterTwoDaysApart() {
        var networks = KnownNetworks()
        let hour: UInt32 = 500_000
        networks.record(Self.home, nowHour: hour, today: UInt16(hour / 24), establishedAfterHours: Self.after)
        #expect(networks.familiarity(of: Self.home, nowHour: hour + 5, establishedAfterHours: Self.after) == .new)
        // Used again the same day, all afternoon: still new.
        networks.record(Self.home, nowHour: hour + 5, today: UInt16(hour / 24), establishedAfterHours: Self.after)
        #expect(networks.familiarity(of: Self.home, nowHour: hour + 5, establishedAfterHours: Self.after) == .new)
        // The next day, 21 hours after the first use: the member's own.
        networks.record(Self.home, nowHour: hour + 21, today: UInt16((hour + 21) / 24), establishedAfterHours: Self.after)
        #expect(networks.familiarity(of: Self.home, nowHour: hour + 21, establishedAfterHours: Self.after) == .established)
        // Another /24 of the same provider block is nearby; another block is new.
        #expect(networks.familiarity(of: NetworkPrefix(clientAddress: "82.64.99.1")!, nowHour: hour + 22, establishedAfterHours: Self.after) == .nearby)
        #expect(networks.familiarity(of: NetworkPrefix(clientAddress: "45.12.1.1")!, nowHour: hour + 22, establishedAfterHours: Self.after) == .new)
    }

    @Test func anAttackerRotatingNetworksCannotPushOutTheMembersOwn() {
        var networks = KnownNetworks()
        var hour: UInt32 = 500_000
        networks.record(Self.home, nowHour: hour, today: UInt16(hour / 24), establishedAfterHours: Self.after)
        hour += 30
        networks.record(Self.home, nowHour: hour, today: UInt16(hour / 24), establishedAfterHours: Self.after)
        networks.record(NetworkPrefix(networkText: "2001:db8:5::/48")!, nowHour: hour, today: UInt16(hour / 24), trusted: true,
                        establishedAfterHours: Self.after)
        for proxy in 0..<200 {
            networks.record(NetworkPrefix(clientAddress: "\(30 + proxy % 90).\(proxy).7.1")!, nowHour: hour,
                            today: UInt16(hour / 24), establishedAfterHours: Self.after)
        }
        #expect(networks.familiarity(of: Self.home, nowHour: hour, establishedAfterHours: Self.after) == .established)
        #expect(networks.familiarity(of: NetworkPrefix(clientAddress: "2001:db8:5::9")!, nowHour: hour, establishedAfterHours: Self.after) == .established)
    }
}

@Suite struct SendingHabitTests {
    @Test func theHourlyHabitCountsActiveHoursOnly() {
        var habit = SendingHabit()
        // Three messages one evening a week, for six weeks.
        for week in 0..<6 {
            let hour = UInt32(500_000 + week * 168)
            habit.advance(hour: hour, day: UInt16(hour / 24))
            for _ in 0..<3 { habit.count(hourOfDay: Int(hour % 24), learnHour: true) }
        }
        habit.advance(hour: 600_000, day: 25_000)
        #expect(abs(habit.hourlyMean - 3) < 0.01, "\(habit.hourlyMean)")
        // Then 30 in one hour: 10x.
        for _ in 0..<30 { habit.count(hourOfDay: 3, learnHour: true) }
        #expect(abs(habit.hourlyRatio() - 10) < 0.01)
    }

    @Test func anHourFarFromTheHabitIsUnusualOnlyWithEnoughHistory() {
        var habit = SendingHabit()
        for _ in 0..<29 { habit.count(hourOfDay: 18, learnHour: true) }
        #expect(!habit.isUnusual(hourOfDay: 3), "29 messages are not a habit yet")
        habit.count(hourOfDay: 19, learnHour: true)
        #expect(habit.isUnusual(hourOfDay: 3))
        #expect(!habit.isUnusual(hourOfDay: 17), "an hour next to the habit (daylight saving time) is not unusual")
        #expect(!habit.isUnusual(hourOfDay: 20))
    }
}

@Suite("Suspicion score") struct SuspicionScoreTests {
    static let start: Int64 = 1_772_409_600_000  // a Monday, 00:00 UTC
    static let home = "82.64.10.7"
    static let settings = DetectionSettings()

    static func message(from client: String?, to recipients: [String]) -> MessageSignals {
        var signals = MessageSignals(network: client.flatMap(NetworkPrefix.init(clientAddress:)))
        for recipient in recipients { signals.add(recipient: recipient) }
        return signals
    }

    /// Two weeks of a member writing to three friends from home at 18h.
    static func member() -> SendingHistory {
        var history = SendingHistory()
        for day in 0..<14 {
            for (index, friend) in ["ana@example.org", "bea@example.net", "cy@example.com"].enumerated() {
                _ = history.observe(message(from: home, to: [friend]), now: start + Int64(day) * 86_400_000 + 18 * 3_600_000 + Int64(index) * 600_000,
                                    watch: 60, lock: 100, settings: settings)
            }
        }
        return history
    }

    @Test func mailToKnownPeopleFromHomeScoresNothing() {
        var history = Self.member()
        let at = Self.start + 14 * 86_400_000 + 18 * 3_600_000
        let observed = history.observe(Self.message(from: "82.64.10.200", to: ["ana@example.org", "bea@example.net"]), now: at,
                                       watch: 60, lock: 100, settings: Self.settings)
        #expect(observed.assessment.points == 0)
        #expect(observed.assessment.reasons == "nothing unusual")
    }

    @Test func eachSignalSaysWhy() {
        let at = Self.start + 14 * 86_400_000 + 3 * 3_600_000  // 03h, an hour she never sends at
        var history = Self.member()
        let observed = history.observe(Self.message(from: "203.0.113.9", to: ["x1@spam.example", "ana@example.org"]), now: at,
                                       watch: 60, lock: 100, settings: Self.settings)
        let reasons = observed.assessment.reasons
        #expect(reasons.contains("new network 203.0.113.0/24"), "\(reasons)")
        #expect(reasons.contains("1 of 2 recipients unknown"), "\(reasons)")
        #expect(reasons.contains("1 of 2 domains unknown"), "\(reasons)")
        #expect(reasons.contains("unusual hour (03h UTC)"), "\(reasons)")
        // (1 + 0.5) × 4 (new network) × 1.5 (hour) + 2 × 1.5 = 12
        #expect(abs(observed.assessment.points - 12) < 0.01, "\(observed.assessment.points)")
        #expect(observed.assessment.summary.hasPrefix("score 12 (+12.0): new network"))
    }

    @Test func volumeAgainstTheHabitAmplifies() {
        var history = Self.member()
        let at = Self.start + 14 * 86_400_000 + 18 * 3_600_000
        var last: SuspicionAssessment?
        for n in 0..<40 {
            last = history.observe(Self.message(from: Self.home, to: ["new\(n)@example.org"]), now: at + Int64(n) * 60_000,
                                   watch: 60, lock: 100, settings: Self.settings).assessment
        }
        let final = try! #require(last)
        #expect(final.reasons.contains("x usual hourly volume"), "\(final.reasons)")
        #expect(final.points > 1 && final.points <= 2, "known network, one stranger, 40x volume: \(final.points)")
    }

    @Test func anEmptyHistoryScoresNothingAndLearnsForAWeek() {
        var history = SendingHistory()
        let strangers = Self.message(from: "203.0.113.9", to: ["a@x.example", "b@y.example", "c@z.example"])
        let first = history.observe(strangers, now: Self.start, watch: 60, lock: 100, settings: Self.settings)
        #expect(first.assessment.points == 0, "a new member is never scored on day one")
        #expect(first.assessment.reasons.contains("history 0% learnt"))
        // Half-way through the learning period, half the points.
        var halfway = SendingHistory()
        _ = halfway.observe(Self.message(from: Self.home, to: ["ana@example.org"]), now: Self.start, watch: 60, lock: 100, settings: Self.settings)
        let later = halfway.observe(strangers, now: Self.start + 3 * 86_400_000 + 43_200_000, watch: 60, lock: 100, settings: Self.settings)
        #expect(abs(later.assessment.maturity - 0.5) < 0.01)
    }

    @Test func theScoreHalvesEveryHalfLifeAndAWatchIsRaisedOncePerEpisode() {
        var history = Self.member()
        let at = Self.start + 14 * 86_400_000 + 18 * 3_600_000
        var watches = 0
        var n = 0
        while history.score < 61 {
            if history.observe(Self.message(from: "203.0.113.9", to: ["s\(n)@spam.example"]), now: at + Int64(n) * 1000,
                               watch: 60, lock: 100, settings: Self.settings).watchRaised { watches += 1 }
            n += 1
        }
        #expect(watches == 1)
        let score = history.score
        #expect(abs(history.score(at: at + Int64(n) * 1000 + 12 * 3_600_000, halfLife: Self.settings.halfLife) - score / 2) < 0.5)
        // Still over the watch: no second watch.
        let again = history.observe(Self.message(from: "203.0.113.9", to: ["s\(n)@spam.example"]), now: at + Int64(n) * 1000 + 1000,
                                    watch: 60, lock: 100, settings: Self.settings)
        #expect(!again.watchRaised)
        // A day and a half later, decayed under half the watch: a new episode may watch again.
        history.decay(to: at + 36 * 3_600_000, halfLife: Self.settings.halfLife, watch: 60)
        #expect(!history.watched)
    }

    @Test func aMissingOrMalformedClientAddressIsNeverANewNetwork() {
        for client in [nil, "", "garbage", "999.1.1.1", "::1", "127.0.0.1"] as [String?] {
            var history = Self.member()
            let observed = history.observe(Self.message(from: client, to: ["ana@example.org"]),
                                           now: Self.start + 14 * 86_400_000 + 18 * 3_600_000, watch: 60, lock: 100, settings: Self.settings)
            #expect(observed.assessment.networkFamiliarity == .host, "\(client ?? "nil")")
            #expect(observed.assessment.points == 0, "\(client ?? "nil"): \(observed.assessment.reasons)")
        }
    }

    @Test func suspiciousStretchesDoNotTeachTheNetwork() {
        var history = Self.member()
        var at = Self.start + 14 * 86_400_000 + 18 * 3_600_000
        for n in 0..<12 {  // over the watch (20) from the attacker's network, over two days
            _ = history.observe(Self.message(from: "203.0.113.9", to: ["s\(n)@spam.example"]), now: at, watch: 20, lock: 1000, settings: Self.settings)
            at += 4 * 3_600_000
        }
        let hour = UInt32(at / 3_600_000)
        #expect(history.networks.familiarity(of: NetworkPrefix(clientAddress: "203.0.113.1")!, nowHour: hour, establishedAfterHours: 20) == .new)
    }
}

/// The score inside the policy: thresholds by group and account, reload, lock, unlock.
@Suite("Suspicion in the policy") struct SuspicionPolicyTests {
    static func settings(watch: Int? = 10, lock: Int? = 20) -> PolicySettings {
        var settings = PolicySettings.club
        settings.detection = DetectionSettings(watch: watch, lock: lock, learningPeriod: .seconds(0), establishedAfter: .seconds(0))
        return settings
    }

    static func strangers(_ n: Int) -> MessageSignals {
        var signals = MessageSignals(network: NetworkPrefix(clientAddress: "203.0.113.9"))
        signals.add(recipient: "<target\(n)@example.com>")
        return signals
    }

    func send(_ h: Harness, _ account: AccountName, _ n: Int) -> Verdict {
        let verdict = h.policy.check(account: account, recipients: 1, countsAsRefusal: true)
        guard verdict == .accept else { return verdict }
        return h.policy.commit(account: account, recipients: 1, queueID: "Q\(n)", signals: Self.strangers(n))
    }

    @Test func itLocksAtTheThresholdWithTheReasonsAndTheEvidence() throws {
        let h = Harness(Self.settings())
        var verdicts: [Verdict] = []
        // A second apart: the score does not decay between them.
        for n in 0..<5 { h.clock.advance(by: .seconds(1)); verdicts.append(send(h, .alice, n)) }
        // 8 + 6 + 6: locked at the third message, the later ones refused as locked.
        guard case .lockedNow(let lock, .suspicion(let assessment, let threshold)) = verdicts[2] else {
            Issue.record("expected a suspicion lock at the third message: \(verdicts)"); return
        }
        #expect(threshold == 20)
        #expect(lock.reason.contains("suspicion score 20 reached 20: new network 203.0.113.0/24"), "\(lock.reason)")
        #expect(assessment.queueID == "Q2")
        if case .locked = verdicts[3] {} else { Issue.record("\(verdicts[3])") }
        #expect(h.events.watched.map(\.account) == [.alice])
        let evidence = try h.store.evidence(account: .alice).map(\.queueID).sorted()
        #expect(evidence == ["Q0", "Q1", "Q2"], "the messages that moved the score are the evidence")
        #expect(h.policy.explain(account: .alice).map(\.queueID) == ["Q0", "Q1", "Q2"])
    }

    @Test func groupAndAccountThresholdsOverrideTheDefaults() throws {
        var settings = Self.settings()
        settings.limits.groups["newsletter", default: SendLimitsLayer()].detectionLock = .unlimited
        settings.limits.groups["newsletter", default: SendLimitsLayer()].detectionWatch = .unlimited
        settings.limits.accounts[.bob] = SendLimitsLayer(detectionLock: .maximum(1000))
        let h = Harness(settings, memberships: [.gazette: ["newsletter"]])
        for n in 0..<10 {
            h.clock.advance(by: .seconds(180))
            #expect(send(h, .gazette, n) == .accept)
            #expect(send(h, .bob, 100 + n) == .accept)
        }
        #expect(h.events.watched.map(\.account) == [.bob], "bob keeps the default watch, gazette none")
        let report = try #require(try h.policy.report(account: .bob).detection)
        #expect(report.lock == 1000 && report.lockSource == "account")
        #expect(report.watch == 10 && report.watchSource == "default")
        let gazette = try #require(try h.policy.report(account: .gazette).detection)
        #expect(gazette.lock == nil && gazette.lockSource == "group newsletter")
    }

    @Test func aReloadChangesTheThresholdsForTheNextMessage() {
        let h = Harness(Self.settings(watch: nil, lock: 1000))
        for n in 0..<4 { h.clock.advance(by: .seconds(180)); #expect(send(h, .alice, n) == .accept) }
        h.policy.reload(settings: Self.settings(watch: nil, lock: 30))
        h.clock.advance(by: .seconds(180))
        guard case .lockedNow(_, .suspicion) = send(h, .alice, 4) else { Issue.record("locked after the reload"); return }
    }

    @Test func unlockClearsTheScoreAndTrustMakesTheNetworkKnown() throws {
        let h = Harness(Self.settings())
        for n in 0..<3 { h.clock.advance(by: .seconds(1)); _ = send(h, .alice, n) }
        #expect(h.policy.lock(of: .alice) != nil)
        try h.policy.trust(account: .alice, network: NetworkPrefix(networkText: "203.0.113.0/24")!, actor: "admin", reason: "new office")
        _ = try h.policy.unlock(account: .alice, actor: "admin", reason: "it was her")
        for n in 10..<20 {
            h.clock.advance(by: .seconds(180))
            #expect(send(h, .alice, n) == .accept, "a trusted network, strangers: 1.5 points a message")
        }
        let report = try #require(try h.policy.report(account: .alice).detection)
        #expect(report.networks.first { $0.network == "203.0.113.0/24" }?.trusted == true)
        #expect(try h.store.auditTrail(account: .alice).contains { $0.action == .trust && $0.reason.contains("203.0.113.0/24: new office") })
    }

    @Test func detectionOffScoresNothingAndKeepsNoHistory() throws {
        var settings = Self.settings()
        settings.detection.enabled = false
        let h = Harness(settings)
        for n in 0..<30 { h.clock.advance(by: .seconds(180)); #expect(send(h, .alice, n) == .accept) }
        #expect(try h.policy.report(account: .alice).detection == nil)
        h.policy.flushCounters()
        #expect(h.store.savedHistory(of: .alice) == nil)
    }

    @Test func theHistoryIsFlushedAndRestored() throws {
        let h = Harness(Self.settings(watch: nil, lock: 1000))
        for n in 0..<3 { h.clock.advance(by: .seconds(180)); _ = send(h, .alice, n) }
        h.policy.flushCounters()
        #expect(h.store.savedHistory(of: .alice)?.messages == 3)
        let restarted = h.restarted()
        try restarted.restore()
        #expect(try restarted.report(account: .alice).detection?.messages == 3)
    }
}
