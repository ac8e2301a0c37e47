/// What a `_dmarc.<domain>` TXT query gave, as DMARC discovery needs it.
public enum DMARCTXTAnswer: Sendable, Hashable {
    /// The TXT records, each one's character-strings concatenated (RFC 7489 §6.6.3
    /// takes a record as its whole text, as SPF does).
    case records([String])
    /// NXDOMAIN or NODATA: the name has no TXT record.
    case noRecords
    /// No usable answer for now (timeout, SERVFAIL): temperror. The text is for
    /// the log and the header comment.
    case temporaryFailure(String)
}

/// Where the evaluation gets `_dmarc` TXT records: the daemon's glue asks the
/// shared `DNSResolver`; unit tests answer from a dictionary. Called on the
/// libmilter worker that evaluates the message, synchronously.
public protocol DMARCRecordSource {
    func txtRecords(named name: String) -> DMARCTXTAnswer
}
