import Logging
import MilterTransport
import VigieAuth
import VigieCore
import VigieDKIM
import VigieDMARC

/// Sign-role milter glue: DKIM signatures on members' mail, in the `sign` role
/// (`vigie --role sign`) that the submission smtpd and local submission call after
/// the submission role. Limits stay decided at RCPT by the submission role, before
/// any body is sent; this role asks for no RCPT at all.
///
/// Which mail is signed: a member's (`{auth_authen}` set, or the local sendmail or
/// relay path by `{daemon_name}`), whose single From address is in a domain of the
/// key table; never mail from the internet; not a forwarded copy (an SRS envelope
/// sender) unless `sign_forwarded`. Everything else is accepted at the first stage
/// that knows, so Postfix stops sending it here: unsigned mail pays one MAIL round
/// trip (mail from the internet) or the headers (a member's From in no key's domain).
///
/// The header fields are kept until the end of headers, where the From picks the
/// keys; then they and the body stream into one libopendkim handle per key, and the
/// signatures go on top at end of message. A key that fails to sign is logged and
/// counted, and the message leaves with the others (or unsigned), never refused:
/// a signature is worth less than the mail.
final class SignGlue: Sendable {
    struct Keys: Sendable {
        let signer: DKIMSigner
        let table: DKIMSigningKeyTable
    }

    struct Settings: Sendable {
        var localDaemonName: String
        var relayDaemonName: String
        var signForwarded: Bool
    }

    /// Swapped whole at reload (SIGUSR1): a session takes one snapshot per message.
    let keys: ReloadableValue<Keys>
    let settings: Settings
    let logger: Logger
    let metrics: SignMetrics

    init(keys: ReloadableValue<Keys>, settings: Settings, logger: Logger, metrics: SignMetrics) {
        self.keys = keys
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
    }

    /// MAIL decides whether the message may be ours; headers and body are streamed
    /// without replies; end of headers accepts what no key signs; end of message
    /// adds the signatures.
    static func milterConfiguration(socket: String) -> MilterServer.Configuration {
        MilterServer.Configuration(
            socket: socket, name: "vigie-sign",
            stages: [.envelopeFrom, .header, .endOfHeaders, .body, .endOfMessage],
            noReplyStages: [.header, .body],
            actions: [.addHeaders],
            macros: [
                // {daemon_name} is a connect macro; Postfix sends a declined stage's
                // macros with the next command, so asking for it at MAIL suffices.
                .envelopeFrom: ["{auth_authen}", "{daemon_name}"],
                .endOfMessage: ["i"],
            ])
    }

    func makeSession() -> any MilterSessionHandler { SignSession(glue: self) }
}

/// One connection's signing; libmilter calls it one callback at a time.
final class SignSession: MilterSessionHandler {
    private let glue: SignGlue
    // Per message; reset at MAIL, at end of message and at abort.
    private var headers: [(name: String, value: String)] = []
    private var headerBytes = 0
    private var signing: DKIMSigning?
    private var fromDomain = ""

    /// A message's header block beyond this is not signed (accepted unsigned):
    /// Postfix's own header_size_limit is 100 KiB per field, and no member's
    /// message carries a megabyte of headers.
    static let maximumHeaderBytes = 1024 * 1024

    init(glue: SignGlue) { self.glue = glue }

    func connect(hostname: String, clientAddress: String?, context: MilterContext) -> MilterResponse { .continue }
    func helo(name: String, context: MilterContext) -> MilterResponse { .continue }

    func envelopeFrom(arguments: [String], context: MilterContext) -> MilterResponse {
        reset()
        let login = context.macro("{auth_authen}") ?? ""
        let daemon = context.macro("{daemon_name}") ?? ""
        let settings = glue.settings
        guard !login.isEmpty || daemon == settings.localDaemonName || daemon == settings.relayDaemonName else {
            glue.metrics.unsigned(.notMember)
            return .accept
        }
        let sender = EnvelopeArgument.address(arguments.first ?? "")
        if !settings.signForwarded, Self.isSRS(sender) {
            glue.metrics.unsigned(.forwarded)
            return .accept
        }
        return .continue
    }

    /// SRS0= / SRS1= local parts, in any case (RFC-less, but every SRS writer uses them).
    static func isSRS(_ sender: String) -> Bool {
        let prefix = sender.utf8.prefix(5).map { $0 >= 0x61 && $0 <= 0x7a ? $0 - 0x20 : $0 }
        return prefix == Array("SRS0=".utf8) || prefix == Array("SRS1=".utf8)
    }

    func envelopeRecipient(arguments: [String], context: MilterContext) -> MilterResponse { .continue }

    func header(name: String, value: String, context: MilterContext) -> MilterResponse {
        headerBytes += name.utf8.count + value.utf8.count + 4
        if headerBytes <= Self.maximumHeaderBytes { headers.append((name, value)) }
        return .continue
    }

    func endOfHeaders(context: MilterContext) -> MilterResponse {
        guard headerBytes <= Self.maximumHeaderBytes else {
            glue.metrics.unsigned(.unusableFrom)
            glue.logger.notice("sign: header block over \(Self.maximumHeaderBytes) bytes, not signed")
            return .accept
        }
        let froms = headers.filter { $0.name.utf8.count == 4 && $0.name.lowercased() == "from" }
        // RFC 6376 §5.4: From must be signed; with several, which one a reader sees
        // is anyone's guess, and DMARC refuses such mail (RFC 7489 §6.6.1).
        // The same reading of From as DMARC's (the alignment the signature is for).
        let extraction = AuthorDomains.extract(fromFieldValues: froms.map(\.value))
        guard case .domains(let domains, fields: 1) = extraction, domains.count == 1, let domain = domains.first else {
            glue.metrics.unsigned(.unusableFrom)
            var reason = "From names several domains"
            if case .domains(_, let fields) = extraction, fields > 1 { reason = "\(fields) From fields" }
            if case .unusable(let why) = extraction { reason = why }
            glue.logger.info("sign: not signed", metadata: ["reason": "\(reason)"])
            return .accept
        }
        let snapshot = glue.keys.value
        let keys = snapshot.table.keys(forFromDomain: domain)
        guard !keys.isEmpty else {
            glue.metrics.unsigned(.noKey)
            return .accept
        }
        let signing = snapshot.signer.begin(keys: keys)
        for header in headers { signing.header(name: header.name, value: header.value) }
        signing.endOfHeaders()
        headers = []
        fromDomain = domain
        self.signing = signing
        return .continue
    }

    func body(chunk: [UInt8], context: MilterContext) -> MilterResponse {
        signing?.body(chunk)
        return .continue
    }

    func endOfMessage(context: MilterContext) -> MilterResponse {
        defer { reset() }
        guard let signing else { return .continue }
        let queueID = context.macro("i") ?? "NOQUEUE"
        var signed: [String] = []
        // Inserted at the top in reverse, so the first key's signature ends up first.
        for result in signing.finish().reversed() {
            switch result.outcome {
            case .signed(let value):
                if context.insertHeader(index: 0, name: DKIMSigning.headerName, value: value) {
                    glue.metrics.signed(result.key.algorithm)
                    signed.insert("\(result.key.algorithm.rawValue):\(result.key.selector)", at: 0)
                } else {
                    glue.metrics.failed(result.key.algorithm)
                    glue.logger.warning("sign: the MTA refused the signature header", metadata: [
                        "queue.id": "\(queueID)", "key": "\(result.key)"])
                }
            case .failure(let why):
                glue.metrics.failed(result.key.algorithm)
                glue.logger.error("sign: could not sign", metadata: ["queue.id": "\(queueID)", "key": "\(result.key)", "problem": "\(why)"])
            }
        }
        if !signed.isEmpty {
            glue.metrics.signedMessages.increment()
            glue.logger.info("sign: signed", metadata: [
                "queue.id": "\(queueID)", "from_domain": "\(fromDomain)", "signatures": "\(signed.joined(separator: ","))"])
        }
        return .continue
    }

    func abort(context: MilterContext) { reset() }
    func close() { reset() }

    private func reset() {
        headers = []
        headerBytes = 0
        signing = nil
        fromDomain = ""
    }
}
