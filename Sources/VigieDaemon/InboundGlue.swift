import Logging
import MilterTransport
import VigieAuth
import VigieCore
import VigieDKIM
import VigieDMARC
import VigieDNS
import VigieReply
import VigieSPF

/// Inbound milter glue: SPF, DKIM and DMARC on mail from the internet, reported in
/// one Authentication-Results header (RFC 8601). Runs in the `inbound` daemon
/// role, attached to the port-25 smtpd only.
///
/// SPF runs at MAIL FROM, so a refusal costs the sender no DATA; DKIM is fed the
/// headers and body as they arrive and finished at end of message. DMARC runs
/// there too, on the From fields kept from the headers and the SPF and DKIM
/// outcomes, and its action (tag, hold, reject) is the end-of-message answer.
/// Forged Authentication-Results claiming our authserv-id are deleted and ours is
/// put on top. A member's own mail (`{auth_authen}` set) is accepted at MAIL
/// unchecked, so it is never judged by DMARC either.
///
/// Security: every value from the envelope or message reaches a header only
/// through VigieAuth's builders, which quote it.
/// Known limitations: DKIM alone is never enforced (only through DMARC); no DMARC
/// reports (rua/ruf) are sent.
final class InboundGlue: Sendable {
    struct Settings: Sendable {
        var authservID: String
        var policy: InboundPolicy
        var receivedSPF: Bool
        /// Nil when DMARC is off (`[inbound] dmarc = false`).
        var dmarc: DMARCEvaluator?
        var dmarcActions: DMARCActions = .default
        /// Bound on all `_dmarc` lookups of one message (`dns_timeout`).
        var dnsTimeout: Duration = .seconds(10)
    }

    let settings: Settings
    let spf: SPFVerifier
    let dkim: DKIMVerifier
    /// `_dmarc` lookups through the resolver SPF and DKIM share.
    let dmarcRecords: any DMARCRecordSource & Sendable
    let logger: Logger

    let metrics: InboundMetrics

    init(settings: Settings, spf: SPFVerifier, dkim: DKIMVerifier, dmarcRecords: any DMARCRecordSource & Sendable,
         logger: Logger, metrics: InboundMetrics) {
        self.metrics = metrics
        self.settings = settings
        self.spf = spf
        self.dkim = dkim
        self.dmarcRecords = dmarcRecords
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
            // Quarantine: DMARC failures held when `dmarc_quarantine`/`dmarc_reject`
            // say "hold" (asked for always: the action costs nothing unused).
            actions: [.addHeaders, .changeHeaders, .quarantine])
    }

    func makeSession() -> any MilterSessionHandler { InboundSession(glue: self) }

    /// The answer when a DMARC hold cannot be done (French, then English).
    static let holdFailedReply = SMTPReply(code: "451", enhancedCode: "4.3.0", lines: [
        "Erreur locale temporaire, veuillez réessayer plus tard",
        "Temporary local problem, please try again later",
    ])
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
    /// The values of the message's From fields, for DMARC (all of them: RFC 5322
    /// wants one, and a second is judged too, see `AuthorDomains`).
    private var fromFields: [String] = []

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
        else if Self.isFrom(name) { fromFields.append(value) }
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

    private static func isFrom(_ name: String) -> Bool {
        var bytes = name.utf8.makeIterator()
        return bytes.next().map { $0 | 0x20 } == UInt8(ascii: "f") && bytes.next().map { $0 | 0x20 } == UInt8(ascii: "r")
            && bytes.next().map { $0 | 0x20 } == UInt8(ascii: "o") && bytes.next().map { $0 | 0x20 } == UInt8(ascii: "m")
            && bytes.next() == nil
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
        let queueID = context.macro("i") ?? "NOQUEUE"
        var metadata: Logger.Metadata = [
            "queue.id": "\(queueID)", "client": "\(spf.clientIP)",
            "spf": "\(spf.result.rawValue)",
            "dkim": "\(dkim.signatures.isEmpty ? "none" : dkim.signatures.map { "\($0.result.rawValue):\($0.domain)" }.joined(separator: ","))",
        ]
        var dmarcResults: [String] = []
        var dmarcDecision: DMARCDecision?
        if let evaluator = settings.dmarc {
            let fromFields = fromFields
            let records = glue.dmarcRecords
            let evaluation = DNSDeadline.withDeadline(ContinuousClock.now.advanced(by: settings.dnsTimeout)) {
                evaluator.evaluate(fromFieldValues: fromFields, identifiers: DMARCIdentifiers(spf: spf, dkim: dkim), source: records)
            }
            glue.metrics.record(dmarc: evaluation)
            dmarcResults = evaluation.authenticationResults
            metadata["dmarc"] = "\(evaluation.logSummary)"
            // The pct= draw (RFC 7489 §6.6.4): uniform, from the system generator.
            dmarcDecision = settings.dmarcActions.decide(evaluation, sample: Int.random(in: 0..<100))
            if let decision = dmarcDecision {
                glue.metrics.record(dmarcAction: decision.action)
                metadata["dmarc_policy"] = "\(decision.enactedPolicy == decision.requestedPolicy ? decision.requestedPolicy.rawValue : "\(decision.requestedPolicy.rawValue), pct: \(decision.enactedPolicy.rawValue)")"
                metadata["dmarc_action"] = "\(decision.action.rawValue)"
            }
        }
        if let decision = dmarcDecision, decision.action == .reject {
            let reply = DMARCReplyTable.reply(for: decision)
            metadata["reply"] = "\(reply.code) \(reply.enhancedCode)"
            glue.logger.notice("inbound: refused at end of message", metadata: metadata)
            return .reject(reply)
        }
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
                                 value: AuthenticationResults.value(authservID: settings.authservID, spf: spf, dkim: dkim,
                                                                    additional: dmarcResults)) {
            failedActions += 1
        }
        if let decision = dmarcDecision, decision.action == .hold {
            // Postfix drops the reason; the log line below says why.
            guard context.quarantine(reason: "vigie: DMARC p=\(decision.requestedPolicy.rawValue) failure") else {
                // No hold queue (the MTA refused the action): not delivered, not lost;
                // the sender retries while an admin reads this line.
                metadata["reply"] = "451 4.3.0"
                glue.logger.error("inbound: DMARC hold refused by the MTA, message deferred", metadata: metadata)
                return .tempfail(InboundGlue.holdFailedReply)
            }
            metadata["held"] = "true"
        }
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
        fromFields = []
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
