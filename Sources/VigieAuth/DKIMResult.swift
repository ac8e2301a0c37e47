/// A DKIM verdict for one signature (RFC 8601 §2.7.1), as a value.
public enum DKIMResult: String, Sendable, Hashable, CaseIterable {
    /// No signature on the message (reported once, without properties).
    case none
    case pass
    /// The signature or the body hash did not verify.
    case fail
    /// The signature could not be processed (syntax errors, unsupported algorithm).
    case neutral
    /// The key could not be fetched for now (DNS timeout, SERVFAIL).
    case temperror
    /// Unrecoverable: no key, revoked key, bad key.
    case permerror
    /// Not verified because the per-message cap on signatures was reached.
    case policy
}

/// One signature's outcome and the tags Authentication-Results reports.
public struct DKIMSignatureOutcome: Sendable, Hashable {
    public var result: DKIMResult
    /// d= (header.d)
    public var domain: String
    /// s= (header.s)
    public var selector: String
    /// i= (header.i), when present
    public var identity: String?
    /// a= (header.a), e.g. "rsa-sha256", "ed25519-sha256"
    public var algorithm: String?
    /// The first characters of b= (header.b, RFC 6008): tells signatures apart.
    public var signaturePrefix: String?
    public var keyBits: Int?
    public var reason: String?

    public init(result: DKIMResult, domain: String, selector: String, identity: String? = nil, algorithm: String? = nil,
                signaturePrefix: String? = nil, keyBits: Int? = nil, reason: String? = nil) {
        self.result = result
        self.domain = domain
        self.selector = selector
        self.identity = identity
        self.algorithm = algorithm
        self.signaturePrefix = signaturePrefix
        self.keyBits = keyBits
        self.reason = reason
    }
}

/// All signatures of one message. Empty `signatures` means dkim=none.
public struct DKIMOutcome: Sendable, Hashable {
    public var signatures: [DKIMSignatureOutcome]
    /// Signatures on the message beyond the cap, left unverified.
    public var skippedSignatures: Int
    /// A message-level problem (unparseable message, caps reached), for the log.
    public var note: String?

    public init(signatures: [DKIMSignatureOutcome], skippedSignatures: Int = 0, note: String? = nil) {
        self.signatures = signatures
        self.skippedSignatures = skippedSignatures
        self.note = note
    }
}
