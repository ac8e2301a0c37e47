import Logging
import MilterTransport
import VigieDKIM
import VigieDMARC

/// One message's DKIM signing, the same in the sign role (`SignSession`) and inside
/// the submission milter (`[dkim.sign] in_submission`): the header fields kept until
/// the end of headers, where the one From domain picks the keys; then the kept fields
/// and the body stream into one libopendkim handle per key; the signatures go on top
/// at end of message. Used from one milter callback at a time.
final class MessageSigner {
    private let keys: SignGlue.Keys
    private let metrics: SignMetrics
    private let logger: Logger
    private var headers: [(name: String, value: String)] = []
    private var headerBytes = 0
    private var signing: DKIMSigning?
    private var fromDomain = ""

    /// A message's header block beyond this is not signed (accepted unsigned):
    /// Postfix's own header_size_limit is 100 KiB per field, and no member's
    /// message carries a megabyte of headers.
    static let maximumHeaderBytes = 1024 * 1024

    /// `keys`: the snapshot this message signs with, whatever a reload does meanwhile.
    init(keys: SignGlue.Keys, metrics: SignMetrics, logger: Logger) {
        self.keys = keys
        self.metrics = metrics
        self.logger = logger
    }

    private var sawFrom = false

    /// Keeps one field; false once the message cannot be signed, so the caller can
    /// stop feeding it: the first From names a domain no key signs, or no usable one
    /// (a second From could only make it unsignable too). Counted as at end of headers.
    func header(name: String, value: String) -> Bool {
        headerBytes += name.utf8.count + value.utf8.count + 4
        if headerBytes <= Self.maximumHeaderBytes { headers.append((name, value)) }
        guard !sawFrom, name.utf8.count == 4, name.lowercased() == "from" else { return true }
        sawFrom = true
        if !keys.table.mightSign(fromFieldValue: value) {
            metrics.unsigned(.noKey)
            return false
        }
        guard case .domains(let domains, _) = AuthorDomains.extract(fromFieldValues: [value]), domains.count == 1 else {
            metrics.unsigned(.unusableFrom)
            logger.info("sign: not signed", metadata: ["reason": "From names no single domain"])
            return false
        }
        if keys.table.keys(forFromDomain: domains[0]).isEmpty {
            metrics.unsigned(.noKey)
            return false
        }
        return true
    }

    /// Whether this message is signed: false (counted, and logged when the From is
    /// unusable) when no key signs it; the caller may then stop feeding it.
    func endOfHeaders() -> Bool {
        guard headerBytes <= Self.maximumHeaderBytes else {
            metrics.unsigned(.unusableFrom)
            logger.notice("sign: header block over \(Self.maximumHeaderBytes) bytes, not signed")
            return false
        }
        let froms = headers.filter { $0.name.utf8.count == 4 && $0.name.lowercased() == "from" }
        // RFC 6376 §5.4: From must be signed; with several, which one a reader sees
        // is anyone's guess, and DMARC refuses such mail (RFC 7489 §6.6.1). The same
        // reading of From as DMARC's (the alignment the signature is for).
        let extraction = AuthorDomains.extract(fromFieldValues: froms.map(\.value))
        guard case .domains(let domains, fields: 1) = extraction, domains.count == 1, let domain = domains.first else {
            metrics.unsigned(.unusableFrom)
            var reason = "From names several domains"
            if case .domains(_, let fields) = extraction, fields > 1 { reason = "\(fields) From fields" }
            if case .unusable(let why) = extraction { reason = why }
            logger.info("sign: not signed", metadata: ["reason": "\(reason)"])
            return false
        }
        let chosen = keys.table.keys(forFromDomain: domain)
        guard !chosen.isEmpty else {
            metrics.unsigned(.noKey)
            return false
        }
        let signing = keys.signer.begin(keys: chosen)
        for header in headers { signing.header(name: header.name, value: header.value) }
        signing.endOfHeaders()
        headers = []
        fromDomain = domain
        self.signing = signing
        return true
    }

    func body(_ chunk: [UInt8]) { signing?.body(chunk) }

    /// Signs and inserts the DKIM-Signature fields on top (the first key's first). A
    /// key that fails is logged and counted; the message goes with the others.
    func finish(context: MilterContext, queueID: String) {
        guard let signing else { return }
        self.signing = nil
        var signed: [String] = []
        // Inserted at the top in reverse, so the first key's signature ends up first.
        for result in signing.finish().reversed() {
            switch result.outcome {
            case .signed(let value):
                if context.insertHeader(index: 0, name: DKIMSigning.headerName, value: value) {
                    metrics.signed(result.key.algorithm)
                    signed.insert("\(result.key.algorithm.rawValue):\(result.key.selector)", at: 0)
                } else {
                    metrics.failed(result.key.algorithm)
                    logger.warning("sign: the MTA refused the signature header", metadata: [
                        "queue.id": "\(queueID)", "key": "\(result.key)"])
                }
            case .failure(let why):
                metrics.failed(result.key.algorithm)
                logger.error("sign: could not sign", metadata: ["queue.id": "\(queueID)", "key": "\(result.key)", "problem": "\(why)"])
            }
        }
        if !signed.isEmpty {
            metrics.signedMessages.increment()
            logger.info("sign: signed", metadata: [
                "queue.id": "\(queueID)", "from_domain": "\(fromDomain)", "signatures": "\(signed.joined(separator: ","))"])
        }
    }
}
