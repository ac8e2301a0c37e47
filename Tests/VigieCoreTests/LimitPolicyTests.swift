import Testing
import VigieCore

/// Defaults, group overrides and account overrides (LimitPolicy.resolve), and the
/// group lookups SendPolicy makes and caches through its GroupDirectory.
@Suite("Limit overrides")
struct LimitPolicyTests {
    /// "1000 from group newsletter", as `vigiectl show` would explain a limit.
    func origin(_ limit: ResolvedLimit) -> String { "\(limit.value) from \(limit.source)" }

    static let policy = LimitPolicy(
        defaults: .numbers(messages: [.minute: 20, .hour: 150, .day: 500], recipients: [.day: 1500], perMessage: 50),
        groups: [
            "newsletter": .numbers(recipients: [.day: 5000], perMessage: 1000),
            "bureau": .numbers(messages: [.day: 1000], recipients: [.day: 3000], perMessage: 200),
            "robots": SendLimitsLayer(messages: [.hour: .unlimited]),
        ],
        accounts: [.alice: .numbers(perMessage: 10)]
    )

    @Test func defaultsApplyWithoutAnyGroup() {
        let limits = Self.policy.resolve(for: .bob, memberOf: [])
        #expect(origin(limits.recipientsPerMessage) == "50 from default")
        #expect(origin(limits.limit(.messages, .hour)) == "150 from default")
        // A window nobody configures is unlimited.
        #expect(limits.limit(.recipients, .minute).value == .unlimited)
    }

    @Test func eachLimitTakesTheMostGenerousGroup() {
        let limits = Self.policy.resolve(for: .bob, memberOf: ["bureau", "newsletter", "staff"])
        #expect(origin(limits.recipientsPerMessage) == "1000 from group newsletter")
        #expect(origin(limits.limit(.recipients, .day)) == "5000 from group newsletter")
        #expect(origin(limits.limit(.messages, .day)) == "1000 from group bureau")
        // Neither group speaks of messages per hour: the default stays.
        #expect(origin(limits.limit(.messages, .hour)) == "150 from default")
        // Order of the memberships does not matter.
        #expect(Self.policy.resolve(for: .bob, memberOf: ["newsletter", "bureau"]) == limits)
    }

    @Test func unlimitedIsTheMostGenerous() {
        let limits = Self.policy.resolve(for: .bob, memberOf: ["robots", "bureau"])
        #expect(origin(limits.limit(.messages, .hour)) == "unlimited from group robots")
    }

    @Test func joiningAnotherGroupNeverLowersALimit() {
        let policy = LimitPolicy(defaults: .numbers(perMessage: 50),
                                 groups: ["guests": .numbers(perMessage: 5), "staff": .numbers(perMessage: 80)])
        #expect(policy.resolve(for: .bob, memberOf: ["staff"]).recipientsPerMessage.value == .maximum(80))
        #expect(policy.resolve(for: .bob, memberOf: ["guests", "staff"]).recipientsPerMessage.value == .maximum(80))
    }

    /// Current behaviour, worth a decision (see the report): a single group whose
    /// override is stricter than the default does lower the limit, although
    /// LimitPolicy's doc says membership "never takes [rights] away".
    @Test func aGroupStricterThanTheDefaultApplies() {
        let policy = LimitPolicy(defaults: .numbers(perMessage: 50), groups: ["guests": .numbers(perMessage: 5)])
        #expect(origin(policy.resolve(for: .bob, memberOf: ["guests"]).recipientsPerMessage) == "5 from group guests")
    }

    @Test func anAccountOverrideWinsOverItsGroups() {
        let limits = Self.policy.resolve(for: .alice, memberOf: ["newsletter", "bureau"])
        #expect(origin(limits.recipientsPerMessage) == "10 from account")
        // Where the account layer says nothing, groups and defaults still apply.
        #expect(origin(limits.limit(.messages, .day)) == "1000 from group bureau")
        #expect(limits.limit(.messages, .minute).source == .defaults)
    }

    @Test func sendPolicyResolvesGroupsThroughTheDirectory() throws {
        let settings = PolicySettings(limits: Self.policy, burst: .disabled)
        let h = Harness(settings, memberships: [.gazette: ["newsletter"], .alice: ["newsletter"]])
        #expect(h.send(.gazette, recipients: 300, queueID: "G1") == .accept)
        #expect(h.send(.bob, recipients: 300, queueID: "B1").breach?.kind == .recipientsPerMessage)
        // Alice's own override (10) beats her group's 1000.
        let breach = try #require(h.send(.alice, recipients: 11, queueID: "A1").breach)
        #expect(breach.kind == .recipientsPerMessage)
        #expect(breach.limit == 10)
    }

    @Test func groupMembershipIsCachedForItsLifetime() {
        var settings = PolicySettings(limits: Self.policy, burst: .disabled)
        settings.groupCacheLifetime = .seconds(60)
        let h = Harness(settings)
        func newsletterFits() -> Bool {
            h.policy.check(account: .bob, recipients: 300, countsAsRefusal: false) == .accept
        }

        #expect(!newsletterFits())
        #expect(h.groups.lookups == 1)

        // Added to the group: not seen until the cached answer expires.
        h.groups.set(.bob, groups: ["newsletter"])
        #expect(!newsletterFits())
        h.clock.advance(by: .seconds(59))
        #expect(!newsletterFits())
        #expect(h.groups.lookups == 1)
        h.clock.advance(by: .seconds(1))
        #expect(newsletterFits())
        #expect(h.groups.lookups == 2)

        // Removed from it: the right lasts one more lifetime, no longer.
        h.groups.set(.bob, groups: [])
        h.clock.advance(by: .seconds(30))
        #expect(newsletterFits())
        h.clock.advance(by: .seconds(30))
        #expect(!newsletterFits())
        #expect(h.groups.lookups == 3)
    }

    @Test func noGroupOverridesMeansNoLookups() {
        let h = Harness(.only(.numbers(messages: [.hour: 10])))
        for index in 0..<5 {
            h.send(.alice, queueID: "Q\(index)")
            h.clock.advance(by: .seconds(120))
        }
        #expect(h.groups.lookups == 0)
    }
}

@Suite("Exemptions")
struct ExemptionTests {
    static let exemptions = Exemptions(accounts: [AccountName(normalized: "root")],
                                       recipients: ["Postmaster", "abuse@Example.org"])

    @Test(arguments: [
        ("postmaster", true),
        ("postmaster@example.org", true),
        ("<PostMaster@Other.Example>", true),     // a bare local part matches at every domain
        (" <postmaster@example.org> ", true),
        ("abuse@example.org", true),
        ("ABUSE@EXAMPLE.ORG", true),
        ("abuse@other.example", false),            // a full address matches only itself
        ("abuse", false),
        ("postmaster.team@example.org", false),
        ("bob@example.org", false),
        ("", false),
    ])
    func recipientExemption(address: String, exempt: Bool) {
        #expect(Self.exemptions.isExempt(recipient: address) == exempt)
    }

    @Test func noExemptionsExemptNobody() {
        #expect(!Exemptions().isExempt(recipient: "postmaster"))
    }

    @Test func exemptAccounts() {
        let h = Harness(PolicySettings(limits: LimitPolicy(defaults: .numbers()), burst: .disabled,
                                       exemptions: Self.exemptions))
        #expect(h.policy.isExempt(AccountName(normalized: "root")))
        #expect(!h.policy.isExempt(.alice))
        // Exemption is by normalised name: the daemon normalises first.
        #expect(!h.policy.isExempt(AccountName(normalized: "Root")))
        #expect(AccountNormalizer().account(forLogin: "Root").map(h.policy.isExempt) == true)
    }
}
