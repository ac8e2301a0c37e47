import VigieAuth

extension DMARCMessageEvaluation {
    /// The `dmarc=` results for Authentication-Results (RFC 7489 §11.2, RFC 8601),
    /// one per author domain:
    ///
    ///     dmarc=fail (p=reject sp=reject) header.from=example.org
    ///     dmarc=none (no DMARC record) header.from=example.net
    ///     dmarc=permerror (no From field)
    ///
    /// sp= is the one in force for subdomains (p= when the record has none), as
    /// large receivers write it. Values from the message and the record go through
    /// VigieAuth's quoting (`propertyValue`, `comment`), so a hostile From cannot
    /// add a result.
    public var authenticationResults: [String] {
        if let problem {
            return ["dmarc=permerror " + AuthenticationResults.comment(problem)]
        }
        return evaluations.map { evaluation in
            var notes: [String] = []
            if let record = evaluation.record {
                notes.append("p=\(record.policy.rawValue) sp=\((record.subdomainPolicy ?? record.policy).rawValue)")
                if record.policyAssumed { notes.append("no valid p=, taken as p=none") }
            }
            if let reason = evaluation.reason { notes.append(reason) }
            if fromFields > 1 { notes.append("\(fromFields) From fields") }
            var parts = ["dmarc=\(evaluation.result.rawValue)"]
            if !notes.isEmpty { parts.append(AuthenticationResults.comment(notes.joined(separator: "; "))) }
            parts.append("header.from=\(AuthenticationResults.propertyValue(evaluation.authorDomain))")
            return parts.joined(separator: " ")
        }
    }

    /// For the "inbound: checked" log line: `fail:example.org,none:example.net`.
    public var logSummary: String {
        if let problem { return "permerror (\(problem))" }
        return evaluations.map { "\($0.result.rawValue):\($0.authorDomain)" }.joined(separator: ",")
    }
}
