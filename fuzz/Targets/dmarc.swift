import VigieAuth
@testable import VigieDMARC

/// DMARC's parsers of hostile input (Sources/VigieDMARC): the `_dmarc` TXT record
/// (anyone's DNS), the From field(s) (anyone's message), domain names (Punycode,
/// the Public Suffix List lookup), and the evaluation and action built on them.
///
/// Input: a flags byte, a sample byte, then NUL-separated fields: up to three TXT
/// records, up to three From field values, the SPF domain, up to two DKIM domains.
///
/// Properties:
/// - `DMARCRecord.parse` is total; a record (or an invalid one) has `DMARC1` in its
///   text; pct is 0...100; a tag appended after the text (`;zz=1`, unknown) changes
///   nothing (§6.3: unknown tags are ignored);
/// - author domains are normalised fixed points, distinct, at most five; the same
///   field given twice gives the same domains;
/// - `DomainName.normalized` is idempotent; an organisational domain is the name or
///   one of its parent names, and its own organisational domain;
/// - the evaluation asks at most two names per author domain, each `_dmarc.` + a
///   normalised name; pass exactly when a record was found and an identifier aligns;
///   its dmarc= results are one resinfo each, with no CR or LF (no `;` injection);
/// - an action exists only for a failure under quarantine or reject, and refusing
///   needs p=reject enacted.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDMARC(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    let sample = Int(input.byte()) % 100
    var records: [String] = []
    for _ in 0..<(Int(flags & 0x03)) { records.append(input.fieldString()) }
    var fromFields: [String] = []
    for _ in 0..<(Int(flags >> 2 & 0x03)) { fromFields.append(input.fieldString()) }
    let spfDomain = flags & 0x10 == 0 ? nil : input.fieldString()
    var dkimDomains: [String] = []
    for _ in 0..<(Int(flags >> 5 & 0x03)) { dkimDomains.append(input.fieldString()) }

    for text in records { checkRecord(text) }
    checkAuthorDomains(fromFields)
    for name in [spfDomain].compactMap({ $0 }) + dkimDomains + fromFields { checkDomainName(name) }

    // The evaluation over an answer made of the records (or a failure when the
    // high bit is set), for every `_dmarc` name it asks.
    let answer: DMARCTXTAnswer = flags & 0x80 != 0 ? .temporaryFailure("DNS timeout") : (records.isEmpty ? .noRecords : .records(records))
    let source = RecordingSource(answer: answer)
    let identifiers = DMARCIdentifiers(spfDomain: spfDomain, dkimDomains: dkimDomains)
    let message = evaluator.evaluate(fromFieldValues: fromFields, identifiers: identifiers, source: source)
    let domainCount = message.evaluations.count
    require(domainCount <= AuthorDomains.maximumDomains, "\(domainCount) evaluations")
    require(source.asked.count <= 2 * domainCount, "\(source.asked.count) lookups for \(domainCount) domains")
    for name in source.asked {
        require(name.hasPrefix("_dmarc."), "asked \(name.debugDescription)")
        let domain = String(name.dropFirst(7))
        require(DomainName.normalized(domain) == domain, "asked for a name not normalised: \(name.debugDescription)")
    }
    for evaluation in message.evaluations {
        let aligned = identifiers.spfDomain.map { evaluator.aligned($0, evaluation.authorDomain, evaluation.record?.spfAlignment ?? .relaxed) } ?? false
            || identifiers.dkimDomains.contains { evaluator.aligned($0, evaluation.authorDomain, evaluation.record?.dkimAlignment ?? .relaxed) }
        switch evaluation.result {
        case .pass: require(evaluation.record != nil && aligned, "pass without a record or alignment")
        case .fail: require(evaluation.record != nil && !aligned, "fail with alignment or without a record")
        case .none, .temperror, .permerror: require(evaluation.record == nil, "\(evaluation.result) with a record")
        }
    }
    let entries = message.authenticationResults
    require(entries.count == max(domainCount, 1), "\(entries.count) results for \(domainCount) domains")
    let header = AuthenticationResults.value(authservID: "mx.example.org", spf: nil, dkim: nil, additional: entries)
    require(!header.utf8.contains(0x0D), "CR in \(header.debugDescription)")
    require(header.split(separator: "\n").allSatisfy { $0.first == "\t" || $0.hasPrefix("mx.example.org") }, "LF not a fold: \(header.debugDescription)")
    require(resinfoCount(header) == 1 + entries.count, "resinfos of \(header.debugDescription)")

    let actions = DMARCActions(quarantine: flags & 0x40 == 0 ? .hold : .tag, reject: .reject)
    if let decision = actions.decide(message, sample: sample) {
        require(message.evaluations.contains { $0.result == .fail }, "an action without a failure")
        require(decision.requestedPolicy != .none, "an action for p=none")
        require(decision.action != .reject || (decision.enactedPolicy == .reject && !decision.sampledOut), "refused though sampled out")
    }
    return 0
}

/// A list with a wildcard, an exception and a private rule, parsed once.
private let evaluator = DMARCEvaluator(publicSuffixList: try! PublicSuffixList(rules: [
    "com", "uk", "co.uk", "*.ck", "!www.ck", "github.io", "公司.cn", "cn",
]))

private final class RecordingSource: DMARCRecordSource {
    let answer: DMARCTXTAnswer
    var asked: [String] = []
    init(answer: DMARCTXTAnswer) { self.answer = answer }
    func txtRecords(named name: String) -> DMARCTXTAnswer {
        asked.append(name)
        return answer
    }
}

private func checkRecord(_ text: String) {
    let parsed = DMARCRecord.parse(text)
    require(DMARCRecord.parse(text) == parsed, "not deterministic")
    switch parsed {
    case .notDMARC: break
    case .record(let record):
        require(text.contains("DMARC1"), "a record without DMARC1: \(text.debugDescription)")
        require((0...100).contains(record.percentage), "pct \(record.percentage)")
    case .invalid:
        require(text.contains("DMARC1"), "an invalid record without DMARC1: \(text.debugDescription)")
    }
    require(DMARCRecord.parse(text + ";zz=1") == parsed, "an unknown tag changed \(text.debugDescription)")
}

private func checkAuthorDomains(_ fields: [String]) {
    let extraction = AuthorDomains.extract(fromFieldValues: fields)
    guard case .domains(let domains, let count) = extraction else { return }
    require(count == fields.count, "field count")
    require(!domains.isEmpty && domains.count <= AuthorDomains.maximumDomains, "\(domains.count) domains")
    require(Set(domains).count == domains.count, "duplicates in \(domains)")
    for domain in domains { require(DomainName.normalized(domain) == domain, "\(domain.debugDescription) not normalised") }
    if let first = fields.first, case .domains(let once, _) = AuthorDomains.extract(fromFieldValues: [first]) {
        require(AuthorDomains.extract(fromFieldValues: [first, first]) == .domains(once, fields: 2), "a repeated field changed the domains")
    }
}

private func checkDomainName(_ text: String) {
    guard let name = DomainName.normalized(text) else { return }
    require(DomainName.normalized(name) == name, "not idempotent: \(text.debugDescription) → \(name.debugDescription)")
    require(name.utf8.count <= 253, "too long")
    let organisational = evaluator.publicSuffixList.organisationalDomain(of: name)
    require(name == organisational || name.hasSuffix("." + organisational), "\(organisational) is not a parent of \(name)")
    require(evaluator.publicSuffixList.organisationalDomain(of: organisational) == organisational, "not a fixed point: \(organisational)")
}

/// Results in an Authentication-Results value: `;` outside quoted strings and
/// comments, plus one (an independent reader, not the builder's own code).
private func resinfoCount(_ value: String) -> Int {
    var count = 1
    var depth = 0
    var quoted = false
    var escaped = false
    for byte in value.utf8 {
        if escaped { escaped = false; continue }
        if byte == UInt8(ascii: "\\"), quoted || depth > 0 { escaped = true; continue }
        if quoted { if byte == UInt8(ascii: "\"") { quoted = false }; continue }
        switch byte {
        case UInt8(ascii: "("): depth += 1
        case UInt8(ascii: ")"): depth = max(0, depth - 1)
        case UInt8(ascii: "\""): if depth == 0 { quoted = true }
        case UInt8(ascii: ";"): if depth == 0 { count += 1 }
        default: break
        }
    }
    return count
}
