import VigieAuth

/// The identifiers SPF and DKIM authenticated, which DMARC aligns with the author
/// domain (RFC 7489 §3.1, §4.2).
public struct DMARCIdentifiers: Sendable, Hashable {
    /// The domain SPF passed for, normalised; nil when SPF did not pass.
    public var spfDomain: String?
    /// The d= of every DKIM signature that passed, normalised.
    public var dkimDomains: [String]

    public init(spfDomain: String?, dkimDomains: [String]) {
        self.spfDomain = spfDomain.flatMap { DomainName.normalized($0) }
        self.dkimDomains = dkimDomains.compactMap { DomainName.normalized($0) }
    }

    /// From the inbound role's outcomes. SPF's identifier is MAIL FROM's domain, or
    /// the HELO name when MAIL FROM is null: RFC 7489 §4.1 takes the SPF result of
    /// RFC 7208, which checks `postmaster@<HELO>` for a null sender.
    public init(spf: SPFOutcome?, dkim: DKIMOutcome?) {
        var spfDomain: String?
        if let spf, spf.result == .pass {
            switch spf.identity {
            case .helo: spfDomain = spf.helo
            case .mailFrom:
                // On the bytes: "@" is ASCII, and a Character search walks graphemes.
                let address = spf.checkedAddress
                spfDomain = address.utf8.lastIndex(of: UInt8(ascii: "@")).map { String(address[address.utf8.index(after: $0)...]) }
            }
        }
        let passing = dkim?.signatures.filter { $0.result == .pass }.map(\.domain) ?? []
        self.init(spfDomain: spfDomain, dkimDomains: passing)
    }
}

/// DMARC for one author domain.
public struct DMARCEvaluation: Sendable, Hashable {
    public var result: DMARCResult
    public var authorDomain: String
    /// The policy record, when one was found (and parsed).
    public var record: DMARCRecord?
    /// Found at the organisational domain, the author domain having none: sp= applies.
    public var foundAtOrganisationalDomain: Bool
    public var alignedSPF: Bool
    public var alignedDKIM: Bool
    /// Why, in a few words, when the result is not pass or fail.
    public var reason: String?

    public init(result: DMARCResult, authorDomain: String, record: DMARCRecord? = nil, foundAtOrganisationalDomain: Bool = false,
                alignedSPF: Bool = false, alignedDKIM: Bool = false, reason: String? = nil) {
        self.result = result
        self.authorDomain = authorDomain
        self.record = record
        self.foundAtOrganisationalDomain = foundAtOrganisationalDomain
        self.alignedSPF = alignedSPF
        self.alignedDKIM = alignedDKIM
        self.reason = reason
    }

    /// The policy the domain asks for this message: sp= (else p=) when the record is
    /// the organisational domain's and the author domain is below it, p= otherwise.
    public var requestedPolicy: DMARCPolicy? {
        guard let record else { return nil }
        return foundAtOrganisationalDomain ? (record.subdomainPolicy ?? record.policy) : record.policy
    }
}

/// DMARC for the whole message: one evaluation per author domain, or why there is
/// none to make (permerror).
public struct DMARCMessageEvaluation: Sendable, Hashable {
    public var evaluations: [DMARCEvaluation]
    /// Set when the From field(s) gave no domain to evaluate (then `evaluations` is empty).
    public var problem: String?
    /// From fields in the message (more than one is noted in the header).
    public var fromFields: Int

    public init(evaluations: [DMARCEvaluation], problem: String? = nil, fromFields: Int = 1) {
        self.evaluations = evaluations
        self.problem = problem
        self.fromFields = fromFields
    }

    /// The results to count and log, one per author domain (one permerror when none).
    public var results: [DMARCResult] { problem != nil ? [.permerror] : evaluations.map(\.result) }

    /// The failed evaluation whose requested policy is strictest (§6.6.1), the
    /// first such when several tie.
    public var strictestFailure: DMARCEvaluation? {
        evaluations.filter { $0.result == .fail }.max { ($0.requestedPolicy ?? .none) < ($1.requestedPolicy ?? .none) }
    }
}

/// Evaluates DMARC (RFC 7489 §6.6): record discovery at the author domain, then at
/// its organisational domain, alignment, result. No I/O of its own: records come
/// from a `DMARCRecordSource`.
public struct DMARCEvaluator: Sendable {
    public let publicSuffixList: PublicSuffixList

    public init(publicSuffixList: PublicSuffixList) {
        self.publicSuffixList = publicSuffixList
    }

    /// The whole message: `fromFieldValues` are the values of its From fields.
    public func evaluate(fromFieldValues: [String], identifiers: DMARCIdentifiers,
                         source: some DMARCRecordSource) -> DMARCMessageEvaluation {
        switch AuthorDomains.extract(fromFieldValues: fromFieldValues) {
        case .unusable(let problem):
            return DMARCMessageEvaluation(evaluations: [], problem: problem, fromFields: fromFieldValues.count)
        case .domains(let domains, let fields):
            return DMARCMessageEvaluation(
                evaluations: domains.map { evaluate(authorDomain: $0, identifiers: identifiers, source: source) },
                fromFields: fields)
        }
    }

    /// One author domain, already normalised (`DomainName.normalized`).
    public func evaluate(authorDomain: String, identifiers: DMARCIdentifiers,
                         source: some DMARCRecordSource) -> DMARCEvaluation {
        let organisational = publicSuffixList.organisationalDomain(of: authorDomain)
        var found = discover(at: authorDomain, source: source)
        var atOrganisationalDomain = false
        // §6.6.3 step 3: only when the author domain has no DMARC record at all.
        if case .nothing = found, organisational != authorDomain {
            found = discover(at: organisational, source: source)
            atOrganisationalDomain = true
        }
        switch found {
        case .nothing:
            return DMARCEvaluation(result: .none, authorDomain: authorDomain, reason: "no DMARC record")
        case .several(let count, let domain):
            return DMARCEvaluation(result: .none, authorDomain: authorDomain, reason: "\(count) DMARC records at _dmarc.\(domain)")
        case .temporaryFailure(let reason):
            return DMARCEvaluation(result: .temperror, authorDomain: authorDomain, reason: reason)
        case .invalid(let problem):
            return DMARCEvaluation(result: .permerror, authorDomain: authorDomain, reason: "invalid DMARC record: \(problem)")
        case .record(let record):
            let spf = identifiers.spfDomain.map { aligned($0, authorDomain, record.spfAlignment) } ?? false
            let dkim = identifiers.dkimDomains.contains { aligned($0, authorDomain, record.dkimAlignment) }
            return DMARCEvaluation(result: spf || dkim ? .pass : .fail, authorDomain: authorDomain, record: record,
                                   foundAtOrganisationalDomain: atOrganisationalDomain, alignedSPF: spf, alignedDKIM: dkim)
        }
    }

    /// Identifier alignment (§3.1): the same name (strict), or the same
    /// organisational domain (relaxed). Both names are normalised.
    public func aligned(_ identifier: String, _ authorDomain: String, _ mode: DMARCAlignmentMode) -> Bool {
        if identifier == authorDomain { return true }
        guard mode == .relaxed else { return false }
        return publicSuffixList.organisationalDomain(of: identifier) == publicSuffixList.organisationalDomain(of: authorDomain)
    }

    private enum Discovery {
        case nothing
        case record(DMARCRecord)
        case invalid(String)
        case several(Int, String)
        case temporaryFailure(String)
    }

    /// §6.6.3 steps 1, 2 and 4 at one domain.
    private func discover(at domain: String, source: some DMARCRecordSource) -> Discovery {
        let name = "_dmarc." + domain
        // A name DNS cannot hold has no record (and is not worth a query).
        guard name.utf8.count <= 253 else { return .nothing }
        switch source.txtRecords(named: name) {
        case .noRecords: return .nothing
        case .temporaryFailure(let reason): return .temporaryFailure(reason)
        case .records(let texts):
            var parsed: [DMARCRecord.Parsed] = []
            for text in texts {
                let record = DMARCRecord.parse(text)
                if record != .notDMARC { parsed.append(record) }
            }
            guard parsed.count <= 1 else { return .several(parsed.count, domain) }
            switch parsed.first {
            case nil, .notDMARC: return .nothing
            case .record(let record): return .record(record)
            case .invalid(let problem): return .invalid(problem)
            }
        }
    }
}
