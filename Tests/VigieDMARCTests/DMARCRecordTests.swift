import Testing
@testable import VigieDMARC

@Suite struct DMARCRecordTests {
    @Test func aFullRecord() {
        let parsed = DMARCRecord.parse("v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; pct=20; rua=mailto:d@example.org")
        #expect(parsed == .record(DMARCRecord(policy: .reject, subdomainPolicy: .quarantine, dkimAlignment: .strict,
                                              spfAlignment: .strict, percentage: 20)))
    }

    @Test func defaults() {
        #expect(DMARCRecord.parse("v=DMARC1; p=none") == .record(DMARCRecord(policy: .none)))
        // Tag names and policy values are case-insensitive; white space around = and ; is fine.
        #expect(DMARCRecord.parse("v = DMARC1 ;\tP = Quarantine ; ") == .record(DMARCRecord(policy: .quarantine)))
    }

    @Test("records that do not start with v=DMARC1 are not DMARC records (§6.6.3 step 2)")
    func notDMARC() {
        for text in ["p=reject; v=DMARC1", "v=DMARC2; p=reject", "v=dmarc1; p=reject", "v=spf1 -all", "", ";", "DMARC1",
                     " x v=DMARC1; p=reject"] {
            #expect(DMARCRecord.parse(text) == .notDMARC, "\(text)")
        }
    }

    @Test("no valid p= and no valid rua=: invalid; with a valid rua=: taken as p=none (§6.6.3 step 5)")
    func invalidPolicy() {
        #expect(DMARCRecord.parse("v=DMARC1") == .invalid("no p= tag"))
        #expect(DMARCRecord.parse("v=DMARC1; p=block") == .invalid("invalid p=block"))
        #expect(DMARCRecord.parse("v=DMARC1; p=reject; sp=maybe") == .invalid("invalid sp=maybe"))
        #expect(DMARCRecord.parse("v=DMARC1; p=block; rua=not a uri") == .invalid("invalid p=block"))
        #expect(DMARCRecord.parse("v=DMARC1; p=block; rua=:nothing") == .invalid("invalid p=block"))
        var assumed = DMARCRecord(policy: .none, dkimAlignment: .strict)
        assumed.policyAssumed = true
        #expect(DMARCRecord.parse("v=DMARC1; p=block; adkim=s; rua=bad, mailto:reports@example.org!10m") == .record(assumed))
        var noSubdomain = DMARCRecord(policy: .none)
        noSubdomain.policyAssumed = true
        #expect(DMARCRecord.parse("v=DMARC1; p=reject; sp=maybe; rua=mailto:r@example.org") == .record(noSubdomain))
    }

    @Test("bad adkim, aspf, pct fall back to their defaults; unknown tags are ignored; the first of two tags counts")
    func lenientTags() {
        #expect(DMARCRecord.parse("v=DMARC1; p=reject; adkim=x; aspf=; pct=101; fo=1; zz=top") == .record(DMARCRecord(policy: .reject)))
        #expect(DMARCRecord.parse("v=DMARC1; p=reject; pct=-1") == .record(DMARCRecord(policy: .reject)))
        #expect(DMARCRecord.parse("v=DMARC1; p=reject; pct=0") == .record(DMARCRecord(policy: .reject, percentage: 0)))
        #expect(DMARCRecord.parse("v=DMARC1; p=none; p=reject") == .record(DMARCRecord(policy: .none)))
        #expect(DMARCRecord.parse("v=DMARC1; junk; p=reject") == .record(DMARCRecord(policy: .reject)))
    }
}
