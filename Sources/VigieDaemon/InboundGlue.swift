import Logging
import MilterTransport
import VigieAuth
import VigieCore
import VigieDKIM
import VigieSPF

/// Inbound milter glue: SPF and DKIM on mail from the internet, reported in one
/// Authentication-Results header (RFC 8601). Runs in the `inbound` daemon role,
/// attached to the port-25 smtpd only.
///
/// SPF runs at MAIL FROM, so a refusal costs the sender no DATA; DKIM is fed the
/// headers and body as they arrive and finished at end of message, where forged
/// Authentication-Results claiming our authserv-id are deleted and ours is put on
/// top. A member's own mail (`{auth_authen}` set) is accepted at MAIL unchecked.
///
/// Security: every value from the envelope or message reaches a header only
/// through VigieAuth's builders, which quote it.
/// Known limitations: no DMARC; DKIM results are reported, never enforced.
final class InboundGlue: Sendable {
    struct Settings: Sendable {
        var authservID: String
        var policy: InboundPolicy
        var receivedSPF: Bool
    }

    let settings: Settings
    let spf: SPFVerifier
    let dkim: DKIMVerifier
    let logger: Logger

    let metrics: InboundMetrics

    init(settings: Settings, spf: SPFVerifier, dkim: DKIMVerifier, logger: Logger, metrics: InboundMetrics) {
        self.metrics = metrics
        self.settings = settings
        self.spf = spf
        self.dkim = dkim
        self.logger = logger
    }

    /// Connect and HELO give the SPF inputs; MAIL decides; headers and body feed DKIM.
    /// No RCPT or DATA: the inbound checks do not need them. Postfix's default
    /// macros carry `{auth_authen}` at MAIL and `i` at end of message.
    static func milterConfiguration(socket: String) -> MilterServer.Configuration {
        MilterServer.Configuration(
            socket: socket, name: "vigie-inbound",
            stages: [.connect, .helo, .envelopeFrom, .header, .endOfHeaders, .body, .endOfMessage],
            // These stages only gather (client, HELO name, headers and body for DKIM)
            // and always continue: "no reply" lets Postfix stream them without waiting
            // for an answer to each header and body chunk. MAIL (SPF may refuse) and
            // end of message (the verdict, the headers added) are answered.
            noReplyStages: [.connect, .helo, .header, .endOfHeaders, .body],
            actions: [.addHeaders, .changeHeaders])
    }

    func makeSession() -> any MilterSessionHandler { InboundSession(glue: self) }
}

/// One SMTP connection's inbound checks. libmilter calls it one callback at a
/// time, so its state needs no lock.
final class InboundSession: MilterSessionHandler {
    private let glue: InboundGlue
    private var clientIP: String?
    private var heloName = ""
    // Per message; reset at MAIL and at abort.
    private var spfOutcome: SPFOutcome?
    private var verification: DKIMVerification?
    private var authenticationResults: [String] = []

    init(glue: InboundGlue) { self.glue = glue }

    func connect(hostname: String, clientAddress: String?, context: MilterContext) -> MilterResponse {
        clientIP = clientAddress
        return .continue
    }

    func helo(name: String, context: MilterContext) -> MilterResponse {
        heloName = name
        return .continue
    }

    func envelopeFrom(arguments: [String], context: MilterContext) -> MilterResponse {
        resetMessage()
        if let login = context.macro("{auth_authen}"), !login.isEmpty {
            // A member's own mail: the submission role deals with it.
            return .accept
        }
        guard let clientIP else {
            glue.logger.info("inbound: no client IP address (local session), not checked")
            return .accept
        }
        let sender = EnvelopeArgument.address(arguments.first ?? "")
        let outcome = glue.spf.check(clientIP: clientIP, helo: heloName, mailFrom: sender)
        glue.metrics.record(spf: outcome.result)
        switch glue.settings.policy.decide(outcome) {
        case .deliver:
            spfOutcome = outcome
            verification = glue.dkim.begin()
            return .continue
        case .refuse(let reply):
            glue.metrics.refusedAtMail.increment()
            glue.logger.notice("inbound: refused at MAIL", metadata: [
                "client": "\(clientIP)", "helo": "\(heloName)", "sender": "\(sender)",
                "spf": "\(outcome.result.rawValue)", "reply": "\(reply.code) \(reply.enhancedCode)",
            ])
            return reply.isTemporary ? .tempfail(reply) : .reject(reply)
        }
    }

    func envelopeRecipient(arguments: [String], context: MilterContext) -> MilterResponse { .continue }

    func header(name: String, value: String, context: MilterContext) -> MilterResponse {
        if Self.isAuthenticationResults(name) { authenticationResults.append(value) }
        verification?.header(name: name, value: value)
        return .continue
    }

    /// Case-insensitive, without lower-casing a copy of every header name.
    private static func isAuthenticationResults(_ name: String) -> Bool {
        let wanted = AuthenticationResults.headerName.utf8
        guard name.utf8.count == wanted.count else { return false }
        func lower(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }
        return zip(name.utf8, wanted).allSatisfy { lower($0) == lower($1) }
    }

    func endOfHeaders(context: MilterContext) -> MilterResponse {
        verification?.endOfHeaders()
        return .continue
    }

    func body(chunk: [UInt8], context: MilterContext) -> MilterResponse {
        verification?.body(chunk)
        return .continue
    }

    func endOfMessage(context: MilterContext) -> MilterResponse {
        defer { resetMessage() }
        guard let spf = spfOutcome else { return .continue }
        let dkim = verification?.finish() ?? DKIMOutcome(signatures: [])
        glue.metrics.record(dkim: dkim)
        glue.metrics.checked.increment()
        let settings = glue.settings
        let forged = AuthenticationResults.forgedHeaderPositions(headerValues: authenticationResults,
                                                                 authservID: settings.authservID)
        var failedActions = 0
        // Last first, so deleting one does not shift the positions of the others.
        for position in forged.reversed()
        where !context.changeHeader(name: AuthenticationResults.headerName, index: position, value: "") {
            failedActions += 1
        }
        // Inserted at the top in reverse: Authentication-Results ends up first.
        if settings.receivedSPF,
           !context.insertHeader(index: 0, name: ReceivedSPF.headerName, value: ReceivedSPF.value(spf, receiver: settings.authservID)) {
            failedActions += 1
        }
        if !context.insertHeader(index: 0, name: AuthenticationResults.headerName,
                                 value: AuthenticationResults.value(authservID: settings.authservID, spf: spf, dkim: dkim)) {
            failedActions += 1
        }
        var metadata: Logger.Metadata = [
            "queue.id": "\(context.macro("i") ?? "NOQUEUE")", "client": "\(spf.clientIP)",
            "spf": "\(spf.result.rawValue)",
            "dkim": "\(dkim.signatures.isEmpty ? "none" : dkim.signatures.map { "\($0.result.rawValue):\($0.domain)" }.joined(separator: ","))",
        ]
        if !forged.isEmpty { metadata["forged_ar_removed"] = "\(forged.count)" }
        if let note = dkim.note { metadata["dkim_note"] = "\(note)" }
        if failedActions > 0 {
            metadata["failed_header_actions"] = "\(failedActions)"
            glue.logger.warning("inbound: checked, but the MTA refused some header changes", metadata: metadata)
        } else {
            glue.logger.info("inbound: checked", metadata: metadata)
        }
        return .continue
    }

    func abort(context: MilterContext) { resetMessage() }

    func close() { resetMessage() }

    private func resetMessage() {
        spfOutcome = nil
        verification = nil
        authenticationResults = []
    }
}

/// The address of a MAIL FROM argument as libmilter gives it ("<a@b>", "<>").
enum EnvelopeArgument {
    static func address(_ argument: String) -> String {
        var text = Substring(argument)
        if text.hasPrefix("<") { text = text.dropFirst() }
        if text.hasSuffix(">") { text = text.dropLast() }
        return String(text)
    }
}
