import VigieDMARC
import VigieDNS

/// DMARC's `_dmarc` TXT lookups through the inbound role's shared `DNSResolver`
/// (the one SPF and DKIM use: one cache, one timeout, one set of metrics).
///
/// Answers become what RFC 7489 §6.6.3 discovery judges: NXDOMAIN and NODATA are
/// "no record"; a timeout, SERVFAIL or unusable answer is a temporary failure
/// (temperror). The reason is generic ("DNS timeout", "DNS lookup failed"): it
/// goes into a header the recipient reads, and `DNSFailure`'s own text names the
/// resolver's address.
struct ResolverDMARCRecords: DMARCRecordSource {
    let resolver: DNSResolver

    func txtRecords(named name: String) -> DMARCTXTAnswer {
        switch resolver.lookup(name, .txt) {
        case .failure(.invalidName):
            // Not a name DNS can hold (checked again by the resolver): it has no record.
            return .noRecords
        case .failure(.timedOut):
            return .temporaryFailure("DNS timeout")
        case .failure:
            return .temporaryFailure("DNS lookup failed")
        case .success(let answer):
            let texts = answer.records.compactMap { record -> String? in
                guard case .text(let strings) = record.data else { return nil }
                // The character-strings of one record, concatenated (RFC 7208 §3.3 reads
                // TXT so; DMARC records split over 255 bytes rely on it too).
                return String(decoding: strings.joined(), as: UTF8.self)
            }
            return texts.isEmpty ? .noRecords : .records(texts)
        }
    }
}
