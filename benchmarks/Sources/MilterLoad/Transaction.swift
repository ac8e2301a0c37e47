// One SMTP session as the milter sees it, written the way Postfix's milter8.c writes
// it and honouring what the milter negotiated:
// - output is buffered (Postfix's VSTREAM, 4 KiB) and flushed when a reply is about
//   to be read or the buffer is full: a stage's macros and its command leave in one
//   write(2), and stages the milter does not answer (SMFIP_NR_*) ride along with the
//   next write;
// - a stage the milter declined (SMFIP_NO*) is not sent, but its macros still are
//   (milter8_event sends "the macros for this event, even when we're not reporting
//   the event itself");
// - no reply is awaited where the milter said it sends none.

/// What the milter asked for in option negotiation.
struct Negotiated {
    var version: UInt32
    var actions: UInt32
    var flags: ProtocolFlags
    /// Macro names per stage from `smfi_setsymlist`; nil = Postfix's defaults.
    var macros: [MacroStage: [String]] = [:]

    func macroNames(_ stage: MacroStage) -> [String] { macros[stage] ?? stage.postfixDefaults }
}

enum Outcome: String, CaseIterable {
    case accepted, rejected, tempfailed, discarded, other
}

/// Who the "SMTP client" is (--client-ip, --client-name, --helo, --no-auth); the
/// defaults are the submission benchmarks' authenticated member on 127.0.0.1.
struct ClientIdentity: Sendable {
    var ip = "127.0.0.1"
    var name = "localhost"
    var helo = "client.bench.test"
    var authenticated = true
}

final class Session {
    let connection: MilterConnection
    let negotiated: Negotiated
    let bodyChunks: [[UInt8]]
    let headers: [(String, String)]
    let client: ClientIdentity
    /// When set, the end-of-message modification requests of the next session are
    /// recorded in `modifications` (e.g. "addheader Authentication-Results: ...").
    var capture = false
    var modifications: [String] = []
    /// RCPT and end-of-message round trips (the stages Vigie decides at), in ns:
    /// the decision as Postfix waits for it, wire included. Taken by the caller.
    var decisionNanos: [UInt64] = []

    init(connection: MilterConnection, bodyChunks: [[UInt8]], headers: [(String, String)],
         client: ClientIdentity = ClientIdentity()) throws {
        self.connection = connection
        self.client = client
        self.bodyChunks = bodyChunks
        self.headers = headers
        var optneg = PacketWriter()
        optneg.packet(.optionNegotiation) {
            $0.appendUInt32(6)  // SMFI_PROT_VERSION
            $0.appendUInt32(0x1FF)  // every action, SMFIF_SETSYMLIST included
            $0.appendUInt32(ProtocolFlags.offered.rawValue)
        }
        try connection.send(optneg.bytes)
        let (command, data) = try connection.receive()
        guard command == Reply.optionNegotiation, data.count >= 12 else {
            throw MilterError("expected OPTNEG reply, got \(Reply.name(command))")
        }
        var negotiated = Negotiated(version: data.uint32(at: 0), actions: data.uint32(at: 4),
                                    flags: ProtocolFlags(rawValue: data.uint32(at: 8)))
        var offset = 12
        while offset + 4 < data.count {
            let stage = data.uint32(at: offset)
            offset += 4
            let end = data[offset...].firstIndex(of: 0) ?? data.count
            let names = String(decoding: data[offset..<end], as: UTF8.self).split(separator: " ").map(String.init)
            if let stage = MacroStage(rawValue: stage) { negotiated.macros[stage] = names }
            offset = end + 1
        }
        self.negotiated = negotiated
    }

    /// Sends the stage's macros (one packet, only those with a value), then the stage's
    /// command; waits for the reply unless the milter negotiated it away.
    /// Returns the reply code, or nil when none was expected.
    /// Bytes written by the "MTA" but not yet flushed to the socket.
    private var pending = PacketWriter(capacity: 8192)
    static let streamBufferSize = 4096  // VSTREAM_BUFSIZE

    private func flush() throws {
        if pending.bytes.isEmpty { return }
        try connection.send(pending.bytes)
        pending.bytes.removeAll(keepingCapacity: true)
    }

    /// Queues a packet; writes out when the stream buffer is full.
    private func queue(_ command: Command, _ build: (inout [UInt8]) -> Void) throws {
        pending.packet(command, build)
        if pending.bytes.count >= Self.streamBufferSize { try flush() }
    }

    /// Macros of a stage, sent whether or not the stage itself is.
    private func macros(_ macroStage: MacroStage, values: [String: String]) throws {
        let names = negotiated.macroNames(macroStage).filter { values[$0] != nil }
        if names.isEmpty { return }
        try queue(.macro) { bytes in
            bytes.append(macroStage.command.rawValue)
            for name in names {
                bytes.appendCString(name)
                bytes.appendCString(values[name]!)
            }
        }
    }

    private func stage(_ command: Command, macroStage: MacroStage?, values: [String: String], noReply: Bool,
                       _ build: (inout [UInt8]) -> Void) throws -> UInt8? {
        let timed = !noReply && (command == .recipient || command == .endOfMessage)
        let started = timed ? monotonicNanos() : 0
        if let macroStage { try macros(macroStage, values: values) }
        try queue(command, build)
        if noReply { return nil }
        try flush()
        while true {
            let (code, _) = try connection.receive()
            if code == Reply.progress { continue }
            if timed { decisionNanos.append(monotonicNanos() - started) }
            return code
        }
    }

    /// Runs one session (connect ... end of message) and ends it with QUIT (Postfix:
    /// one milter connection per SMTP session), or with QUIT_NC when `reuse` so the
    /// connection carries the next session. Returns the message's outcome.
    func run(login: String, queueID: String, sender: String, recipient: String, reuse: Bool) throws -> Outcome {
        let flags = negotiated.flags
        var values: [String: String] = [
            "j": "bench.test", "{daemon_name}": "bench-submission", "{daemon_addr}": "127.0.0.1",
            "v": "Postfix 3.7.11", "_": "\(client.name) [\(client.ip)]", "{client_addr}": client.ip,
            "{client_name}": client.name,
            "{auth_type}": "PLAIN", "{auth_authen}": login, "{mail_addr}": sender,
            "{mail_host}": "bench.test", "{mail_mailer}": "smtp", "{rcpt_addr}": recipient,
            "{rcpt_host}": "sink.test", "{rcpt_mailer}": "smtp", "i": queueID,
        ]
        if !client.authenticated {
            values["{auth_type}"] = nil
            values["{auth_authen}"] = nil
        }
        let valuesBeforeData = values.filter { $0.key != "i" }  // over SMTP, {i} exists from DATA on

        func finish(_ outcome: Outcome, abort: Bool) throws -> Outcome {
            if abort { try queue(.abort) { _ in } }
            try queue(reuse ? .quitNewConnection : .quit) { _ in }
            try flush()
            return outcome
        }
        func verdict(_ code: UInt8?) -> Outcome? {
            guard let code else { return nil }
            switch code {
            case Reply.continue: return nil
            case Reply.accept: return .accepted
            case Reply.reject: return .rejected
            case Reply.tempfail: return .tempfailed
            case Reply.discard: return .discarded
            case Reply.replyCode: return .rejected
            default: return .other
            }
        }

        if flags.contains(.noConnect) { try macros(.connect, values: valuesBeforeData) } else {
            let code = try stage(.connect, macroStage: .connect, values: valuesBeforeData,
                                 noReply: flags.contains(.noReplyConnect)) {
                $0.appendCString(client.name); $0.append(0x34)  // '4': SMFIA_INET
                $0.appendUInt16(40_000); $0.appendCString(client.ip)
            }
            if let outcome = verdict(code) { return try finish(outcome, abort: false) }
        }
        if flags.contains(.noHelo) { try macros(.helo, values: valuesBeforeData) } else {
            let code = try stage(.helo, macroStage: .helo, values: valuesBeforeData, noReply: flags.contains(.noReplyHelo)) {
                $0.appendCString(client.helo)
            }
            if let outcome = verdict(code) { return try finish(outcome, abort: false) }
        }
        if flags.contains(.noMail) { try macros(.envelopeFrom, values: valuesBeforeData) } else {
            let code = try stage(.mail, macroStage: .envelopeFrom, values: valuesBeforeData,
                                 noReply: flags.contains(.noReplyMail)) { $0.appendCString("<\(sender)>") }
            if let outcome = verdict(code) { return try finish(outcome, abort: outcome != .accepted) }
        }
        if flags.contains(.noRcpt) { try macros(.envelopeRecipient, values: valuesBeforeData) } else {
            let code = try stage(.recipient, macroStage: .envelopeRecipient, values: valuesBeforeData,
                                 noReply: flags.contains(.noReplyRcpt)) { $0.appendCString("<\(recipient)>") }
            if let outcome = verdict(code) { return try finish(outcome, abort: outcome != .accepted) }
        }
        if flags.contains(.noData) { try macros(.data, values: values) } else {
            let code = try stage(.data, macroStage: .data, values: values, noReply: flags.contains(.noReplyData)) { _ in }
            if let outcome = verdict(code) { return try finish(outcome, abort: outcome != .accepted) }
        }
        if !flags.contains(.noHeaders) {
            for (name, value) in headers {
                // milter8: the value's leading whitespace goes only with SMFIP_HDR_LEADSPC.
                let sent = flags.contains(.headerLeadingSpace) ? value : String(value.drop { $0 == " " || $0 == "\t" })
                let code = try stage(.header, macroStage: nil, values: values, noReply: flags.contains(.noReplyHeader)) {
                    $0.appendCString(name); $0.appendCString(sent)
                }
                if let outcome = verdict(code) { return try finish(outcome, abort: outcome != .accepted) }
            }
        }
        if flags.contains(.noEOH) { try macros(.endOfHeaders, values: values) } else {
            let code = try stage(.endOfHeaders, macroStage: .endOfHeaders, values: values,
                                 noReply: flags.contains(.noReplyEOH)) { _ in }
            if let outcome = verdict(code) { return try finish(outcome, abort: outcome != .accepted) }
        }
        if !flags.contains(.noBody) {
            for chunk in bodyChunks {
                let code = try stage(.body, macroStage: nil, values: values, noReply: flags.contains(.noReplyBody)) {
                    $0.append(contentsOf: chunk)
                }
                if code == Reply.skip { break }
                if let outcome = verdict(code) { return try finish(outcome, abort: outcome != .accepted) }
            }
        }
        // End of message: modification requests (add header, quarantine, ...) come
        // first, then one final reply.
        if capture { modifications = [] }
        var code: UInt8
        if capture {
            try macros(.endOfMessage, values: values)
            try queue(.endOfMessage) { _ in }
            try flush()
            var (reply, data) = try connection.receive()
            while !Reply.isFinal(reply) {
                modifications.append(Self.describe(reply, data))
                (reply, data) = try connection.receive()
            }
            code = reply
            capture = false
        } else {
            code = try stage(.endOfMessage, macroStage: .endOfMessage, values: values, noReply: false) { _ in }!
            while !Reply.isFinal(code) {
                code = try connection.receive().0
            }
        }
        let outcome = verdict(code) ?? .accepted  // continue at end of message = accept
        return try finish(outcome, abort: false)
    }
}

extension Session {
    /// "addheader NAME: VALUE" / "insheader ..." / "chgheader ..." / the reply's name.
    static func describe(_ code: UInt8, _ data: [UInt8]) -> String {
        var fields = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        switch code {
        case 0x68:  // 'h' SMFIR_ADDHEADER: name, value
            return "addheader \(fields.first ?? ""):\(fields.dropFirst().first ?? "")"
        case 0x69, 0x6D:  // 'i' SMFIR_INSHEADER / 'm' SMFIR_CHGHEADER: index, name, value
            let name = code == 0x69 ? "insheader" : "chgheader"
            guard data.count >= 4 else { return name }
            fields = data.dropFirst(4).split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            return "\(name)[\(data.uint32(at: 0))] \(fields.first ?? ""):\(fields.dropFirst().first ?? "")"
        default:
            return Reply.name(code)
        }
    }
}
