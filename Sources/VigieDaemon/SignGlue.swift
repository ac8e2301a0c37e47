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
    /// The message in progress that may be signed; nil once it is not ours.
    private var signer: MessageSigner?

    init(glue: SignGlue) { self.glue = glue }

    func connect(hostname: String, clientAddress: String?, context: MilterContext) -> MilterResponse { .continue }
    func helo(name: String, context: MilterContext) -> MilterResponse { .continue }

    func envelopeFrom(arguments: [String], context: MilterContext) -> MilterResponse {
        signer = nil
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
        signer = MessageSigner(keys: glue.keys.value, metrics: glue.metrics, logger: glue.logger)
        return .continue
    }

    /// SRS0= / SRS1= local parts, in any case (RFC-less, but every SRS writer uses them).
    static func isSRS(_ sender: String) -> Bool {
        let prefix = sender.utf8.prefix(5).map { $0 >= 0x61 && $0 <= 0x7a ? $0 - 0x20 : $0 }
        return prefix == Array("SRS0=".utf8) || prefix == Array("SRS1=".utf8)
    }

    func envelopeRecipient(arguments: [String], context: MilterContext) -> MilterResponse { .continue }

    var wantsMessageContent: Bool { signer != nil }

    func header(name: String, value: String, context: MilterContext) -> MilterResponse {
        if let signer, !signer.header(name: name, value: value) { self.signer = nil }
        return .continue
    }

    func endOfHeaders(context: MilterContext) -> MilterResponse {
        guard let signer, signer.endOfHeaders() else {
            self.signer = nil
            return .accept
        }
        return .continue
    }

    func body(chunk: [UInt8], context: MilterContext) -> MilterResponse {
        signer?.body(chunk)
        return .continue
    }

    func endOfMessage(context: MilterContext) -> MilterResponse {
        defer { signer = nil }
        signer?.finish(context: context, queueID: context.macro("i") ?? "NOQUEUE")
        return .continue
    }

    func abort(context: MilterContext) { signer = nil }
    func close() { signer = nil }
}
