import Testing
import VigieAuth
import VigieReply
@testable import VigieDMARC

/// Answers `_dmarc` queries from a table and remembers what was asked (the unit
/// tier: no DNS; DMARCResolverTests puts real DNS under the same evaluation).
final class TableRecordSource: DMARCRecordSource, @unchecked Sendable {
    // @unchecked: a test uses one instance from one thread.
    let answers: [String: DMARCTXTAnswer]
    private(set) var asked: [String] = []
    init(_ answers: [String: DMARCTXTAnswer]) { self.answers = answers }
    func txtRecords(named name: String) -> DMARCTXTAnswer {
        asked.append(name)
        return answers[name] ?? .noRecords
    }
}

@Suite struct DMARCEvaluationTests {
    static let list = try! PublicSuffixList(rules: ["org", "uk", "co.uk", "test"])
    let evaluator = DMARCEvaluator(publicSuffixList: Self.list)

    func evaluate(_ from: String, spf: String? = nil, dkim: [String] = [], _ answers: [String: DMARCTXTAnswer])
        -> (DMARCMessageEvaluation, TableRecordSource) {
        let source = TableRecordSource(answers)
        let result = evaluator.evaluate(fromFieldValues: [from], identifiers: DMARCIdentifiers(spfDomain: spf, dkimDomains: dkim),
                                        source: source)
        return (result, source)
    }

    static let rejecting: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .records(["v=DMARC1; p=reject"])]

    @Test("aligned DKIM only: pass")
    func alignedDKIMOnly() {
        let (message, _) = evaluate(" a@example.org", spf: "bounces.other.org", dkim: ["mail.example.org"], Self.rejecting)
        let evaluation = message.evaluations[0]
        #expect(evaluation.result == .pass)
        #expect(evaluation.alignedDKIM && !evaluation.alignedSPF)
        #expect(message.authenticationResults == ["dmarc=pass (p=reject sp=reject) header.from=example.org"])
    }

    @Test("aligned SPF only: pass")
    func alignedSPFOnly() {
        let (message, _) = evaluate(" a@example.org", spf: "Bounce.Example.ORG", dkim: ["other.org"], Self.rejecting)
        #expect(message.evaluations[0].result == .pass)
        #expect(message.evaluations[0].alignedSPF && !message.evaluations[0].alignedDKIM)
    }

    @Test("nothing aligned: fail under p=reject; SPF and DKIM of other domains do not count")
    func unaligned() {
        let (message, _) = evaluate(" a@example.org", spf: "example.co.uk", dkim: ["example.org.evil.org", "org"], Self.rejecting)
        #expect(message.evaluations[0].result == .fail)
        #expect(message.strictestFailure?.requestedPolicy == .reject)
        #expect(message.authenticationResults == ["dmarc=fail (p=reject sp=reject) header.from=example.org"])
    }

    @Test("strict alignment (adkim=s, aspf=s) wants the very name")
    func strictAlignment() {
        let strict: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .records(["v=DMARC1; p=quarantine; adkim=s; aspf=s"])]
        #expect(evaluate(" a@example.org", spf: "mail.example.org", dkim: ["mail.example.org"], strict).0.evaluations[0].result == .fail)
        #expect(evaluate(" a@example.org", dkim: ["EXAMPLE.org"], strict).0.evaluations[0].result == .pass)
        #expect(evaluate(" a@example.org", spf: "example.org", strict).0.evaluations[0].result == .pass)
        // Relaxed for one, strict for the other.
        let mixed: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .records(["v=DMARC1; p=quarantine; aspf=s"])]
        #expect(evaluate(" a@example.org", spf: "mail.example.org", mixed).0.evaluations[0].result == .fail)
        #expect(evaluate(" a@example.org", dkim: ["mail.example.org"], mixed).0.evaluations[0].result == .pass)
    }

    @Test("a subdomain without a record gets the organisational domain's sp= (§6.6.3 step 3)")
    func subdomainPolicy() {
        let answers: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .records(["v=DMARC1; p=none; sp=reject"])]
        let (message, source) = evaluate(" a@news.example.org", spf: "other.org", answers)
        #expect(source.asked == ["_dmarc.news.example.org", "_dmarc.example.org"])
        let evaluation = message.evaluations[0]
        #expect(evaluation.result == .fail)
        #expect(evaluation.foundAtOrganisationalDomain)
        #expect(evaluation.requestedPolicy == .reject)
        #expect(message.authenticationResults == ["dmarc=fail (p=none sp=reject) header.from=news.example.org"])
        // The organisational domain itself gets p=.
        let (own, _) = evaluate(" a@example.org", answers)
        #expect(own.evaluations[0].requestedPolicy == DMARCPolicy.none)
        // Without sp=, subdomains get p=.
        let plain: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .records(["v=DMARC1; p=quarantine"])]
        #expect(evaluate(" a@news.example.org", plain).0.evaluations[0].requestedPolicy == .quarantine)
    }

    @Test("a subdomain's own record is used, with its p=, and the organisational domain is not asked")
    func subdomainOwnRecord() {
        let answers: [String: DMARCTXTAnswer] = [
            "_dmarc.news.example.org": .records(["v=DMARC1; p=quarantine; sp=none"]),
            "_dmarc.example.org": .records(["v=DMARC1; p=reject"]),
        ]
        let (message, source) = evaluate(" a@news.example.org", answers)
        #expect(source.asked == ["_dmarc.news.example.org"])
        #expect(message.evaluations[0].requestedPolicy == .quarantine)
        #expect(!message.evaluations[0].foundAtOrganisationalDomain)
    }

    @Test("no record: none, after asking the author and organisational domains")
    func noRecord() {
        let answers: [String: DMARCTXTAnswer] = ["_dmarc.news.example.org": .records(["v=spf1 -all", "google-site-verification=x"])]
        let (message, source) = evaluate(" a@news.example.org", answers)
        #expect(source.asked == ["_dmarc.news.example.org", "_dmarc.example.org"])
        #expect(message.evaluations[0].result == DMARCResult.none)
        #expect(message.authenticationResults == ["dmarc=none (no DMARC record) header.from=news.example.org"])
        #expect(DMARCActions(quarantine: .hold, reject: .reject).decide(message, sample: 0) == nil)
    }

    @Test("two DMARC records: none, and discovery stops there (§6.6.3 step 4)")
    func twoRecords() {
        let answers: [String: DMARCTXTAnswer] = [
            "_dmarc.news.example.org": .records(["v=DMARC1; p=reject", "v=DMARC1; p=none", "v=spf1 -all"]),
            "_dmarc.example.org": .records(["v=DMARC1; p=reject"]),
        ]
        let (message, source) = evaluate(" a@news.example.org", answers)
        #expect(source.asked == ["_dmarc.news.example.org"])
        #expect(message.evaluations[0].result == DMARCResult.none)
        #expect(message.authenticationResults == ["dmarc=none (2 DMARC records at _dmarc.news.example.org) header.from=news.example.org"])
        #expect(DMARCActions(quarantine: .hold, reject: .reject).decide(message, sample: 0) == nil)
    }

    @Test("a DNS failure is temperror, at either step, and never acted on")
    func temperror() {
        let first: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .temporaryFailure("DNS timeout")]
        let (message, _) = evaluate(" a@example.org", first)
        #expect(message.evaluations[0].result == .temperror)
        #expect(message.authenticationResults == ["dmarc=temperror (DNS timeout) header.from=example.org"])
        #expect(DMARCActions(quarantine: .hold, reject: .reject).decide(message, sample: 0) == nil)
        let second: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .temporaryFailure("DNS timeout")]
        #expect(evaluate(" a@mail.example.org", second).0.evaluations[0].result == .temperror)
    }

    @Test("a record without a valid p= is permerror; with a valid rua= it counts as p=none (§6.6.3 step 5)")
    func malformedRecords() {
        let broken: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .records(["v=DMARC1; p=rejcet"])]
        let (message, _) = evaluate(" a@example.org", broken)
        #expect(message.evaluations[0].result == .permerror)
        #expect(message.authenticationResults == ["dmarc=permerror (invalid DMARC record: invalid p=rejcet) header.from=example.org"])
        #expect(DMARCActions(quarantine: .hold, reject: .reject).decide(message, sample: 0) == nil)
        let reporting: [String: DMARCTXTAnswer] = ["_dmarc.example.org": .records(["v=DMARC1; p=rejcet; rua=mailto:r@example.org"])]
        let (assumed, _) = evaluate(" a@example.org", reporting)
        #expect(assumed.evaluations[0].result == .fail)
        #expect(assumed.evaluations[0].requestedPolicy == DMARCPolicy.none)
        #expect(assumed.authenticationResults == ["dmarc=fail (p=none sp=none; no valid p=, taken as p=none) header.from=example.org"])
        #expect(DMARCActions(quarantine: .hold, reject: .reject).decide(assumed, sample: 0) == nil)
    }

    @Test("no From field: permerror, no lookup, no action")
    func noFrom() {
        let source = TableRecordSource(Self.rejecting)
        let message = evaluator.evaluate(fromFieldValues: [], identifiers: DMARCIdentifiers(spfDomain: nil, dkimDomains: []), source: source)
        #expect(source.asked.isEmpty)
        #expect(message.results == [.permerror])
        #expect(message.authenticationResults == ["dmarc=permerror (no From field)"])
        #expect(DMARCActions(quarantine: .hold, reject: .reject).decide(message, sample: 0) == nil)
    }

    @Test("two From fields: both domains judged, the strictest failing policy decides (§6.6.1)")
    func twoFromFields() {
        let answers: [String: DMARCTXTAnswer] = [
            "_dmarc.example.org": .records(["v=DMARC1; p=none"]),
            "_dmarc.bank.co.uk": .records(["v=DMARC1; p=reject"]),
        ]
        let source = TableRecordSource(answers)
        let message = evaluator.evaluate(fromFieldValues: [" a@example.org", " ceo@bank.co.uk"],
                                         identifiers: DMARCIdentifiers(spfDomain: "example.org", dkimDomains: ["example.org"]),
                                         source: source)
        #expect(message.results == [.pass, .fail])
        #expect(message.authenticationResults == [
            "dmarc=pass (p=none sp=none; 2 From fields) header.from=example.org",
            "dmarc=fail (p=reject sp=reject; 2 From fields) header.from=bank.co.uk",
        ])
        let decision = DMARCActions(quarantine: .hold, reject: .reject).decide(message, sample: 0)
        #expect(decision?.action == .reject)
        #expect(decision?.authorDomain == "bank.co.uk")
    }

    @Test("actions per policy: tag by default, hold for quarantine, reject or hold for reject")
    func actions() {
        let quarantine = evaluate(" a@example.org", ["_dmarc.example.org": .records(["v=DMARC1; p=quarantine"])]).0
        let reject = evaluate(" a@example.org", Self.rejecting).0
        #expect(DMARCActions.default.decide(quarantine, sample: 0)?.action == .tag)
        #expect(DMARCActions.default.decide(reject, sample: 0)?.action == .tag)
        let configured = DMARCActions(quarantine: .hold, reject: .reject)
        #expect(configured.decide(quarantine, sample: 0)?.action == .hold)
        #expect(configured.decide(reject, sample: 0)?.action == .reject)
        #expect(DMARCActions(quarantine: .tag, reject: .hold).decide(reject, sample: 0)?.action == .hold)
        // A pass is never acted on.
        let pass = evaluate(" a@example.org", dkim: ["example.org"], Self.rejecting).0
        #expect(configured.decide(pass, sample: 0) == nil)
    }

    @Test("pct= never changes the result, only the action: left-out mail is handled one step down (§6.6.4)")
    func percentage() {
        let configured = DMARCActions(quarantine: .hold, reject: .reject)
        let reject = evaluate(" a@example.org", ["_dmarc.example.org": .records(["v=DMARC1; p=reject; pct=30"])]).0
        #expect(reject.evaluations[0].result == .fail)
        #expect(reject.authenticationResults == ["dmarc=fail (p=reject sp=reject) header.from=example.org"])
        #expect(configured.decide(reject, sample: 29) == DMARCDecision(action: .reject, requestedPolicy: .reject, enactedPolicy: .reject,
                                                                        sampledOut: false, authorDomain: "example.org"))
        #expect(configured.decide(reject, sample: 30) == DMARCDecision(action: .hold, requestedPolicy: .reject, enactedPolicy: .quarantine,
                                                                        sampledOut: true, authorDomain: "example.org"))
        let quarantine = evaluate(" a@example.org", ["_dmarc.example.org": .records(["v=DMARC1; p=quarantine; pct=0"])]).0
        #expect(quarantine.evaluations[0].result == .fail)
        #expect(configured.decide(quarantine, sample: 0)?.action == .tag)
        #expect(configured.decide(quarantine, sample: 0)?.enactedPolicy == DMARCPolicy.none)
        // pct=100 (the default) enacts on every draw.
        #expect(configured.decide(evaluate(" a@example.org", Self.rejecting).0, sample: 99)?.action == .reject)
    }

    @Test("the refusal: 550 5.7.1, French then English, the domain made safe")
    func reply() {
        let decision = DMARCDecision(action: .reject, requestedPolicy: .reject, enactedPolicy: .reject, sampledOut: false,
                                     authorDomain: "example.org")
        let reply = DMARCReplyTable.reply(for: decision)
        #expect(reply.code == "550" && reply.enhancedCode == "5.7.1")
        #expect(reply.lines.count == 2)
        #expect(reply.lines[0].hasPrefix("Message refusé") && reply.lines[0].contains("example.org"))
        #expect(reply.lines[1].hasPrefix("Message refused") && reply.lines[1].contains("example.org"))
    }

    @Test("identifiers from the SPF and DKIM outcomes: MAIL FROM's domain, or HELO for a null sender; passing signatures only")
    func identifiersFromOutcomes() {
        let mailFrom = SPFOutcome(result: .pass, identity: .mailFrom, checkedAddress: "bounce@Mail.Example.org", clientIP: "192.0.2.1", helo: "mx.other.org")
        let helo = SPFOutcome(result: .pass, identity: .helo, checkedAddress: "postmaster@mx.example.org", clientIP: "192.0.2.1", helo: "mx.example.org")
        let failed = SPFOutcome(result: .softfail, identity: .mailFrom, checkedAddress: "a@example.org", clientIP: "192.0.2.1", helo: "x")
        let dkim = DKIMOutcome(signatures: [DKIMSignatureOutcome(result: .fail, domain: "example.org", selector: "s"),
                                            DKIMSignatureOutcome(result: .pass, domain: "Lists.Example.net", selector: "s")])
        #expect(DMARCIdentifiers(spf: mailFrom, dkim: dkim) == DMARCIdentifiers(spfDomain: "mail.example.org", dkimDomains: ["lists.example.net"]))
        #expect(DMARCIdentifiers(spf: helo, dkim: nil).spfDomain == "mx.example.org")
        #expect(DMARCIdentifiers(spf: failed, dkim: nil).spfDomain == nil)
    }

    @Test("the dmarc= results go into our Authentication-Results after spf and dkim, quoted")
    func intoAuthenticationResults() {
        let (message, _) = evaluate(" a@example.org", Self.rejecting)
        let header = AuthenticationResults.value(authservID: "mx.vigie.test", spf: nil, dkim: DKIMOutcome(signatures: []),
                                                 additional: message.authenticationResults)
        #expect(header == "mx.vigie.test;\n\tdkim=none;\n\tdmarc=fail (p=reject sp=reject) header.from=example.org")
    }
}
