// A blocking SMTP client for end-to-end tests, on VigieSockets' deadline-bounded
// stream calls. Every read and write waits at most `timeout` seconds, so a test never
// hangs on a silent server: it gets an `SMTPClientError.timeout` that says what it
// waited for.

import Foundation
import VigieSockets

#if canImport(Glibc)
import Glibc
#endif

public final class SMTPClient: @unchecked Sendable {
    public let host: String
    public let port: Int
    /// Seconds allowed for each reply (and each write). Default 10.
    public var timeout: TimeInterval
    /// The server's 220 greeting (or whatever it said first).
    public private(set) var greeting: SMTPResponse
    /// The reply to the latest EHLO (including the one sent automatically after XCLIENT).
    public private(set) var ehloResponse: SMTPResponse?
    /// EHLO keywords (upper-cased) with their parameters, from the latest EHLO,
    /// e.g. ["XCLIENT": "NAME ADDR PROTO HELO ...", "PIPELINING": ""].
    public private(set) var extensions: [String: String] = [:]
    /// Every line sent ("C: ") and received ("S: "), for failure messages.
    public private(set) var transcript: [String] = []

    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var heloName = "client.vigie.test"

    /// Connects and reads the greeting.
    ///
    /// - Parameters:
    ///   - host: an IPv4 or IPv6 literal, or "localhost" (= 127.0.0.1).
    ///   - timeout: seconds for the connection, the greeting and each later reply.
    public init(host: String = "127.0.0.1", port: Int, timeout: TimeInterval = 10) throws {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.greeting = SMTPResponse(code: 0, lines: [])
        self.fd = try SMTPClient.connect(host: host, port: port, timeout: timeout)
        do {
            self.greeting = try readResponse(waitingFor: "the greeting")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    public var isConnected: Bool { fd >= 0 }

    /// Closes the socket without QUIT.
    public func close() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    // MARK: Commands

    /// Sends one command line (without CRLF) and reads the reply.
    @discardableResult
    public func command(_ line: String) throws -> SMTPResponse {
        try sendLine(line)
        let verb = line.split(separator: " ", maxSplits: 1).first.map(String.init) ?? line
        return try readResponse(waitingFor: "the reply to \(verb.uppercased().prefix(20))")
    }

    @discardableResult
    public func ehlo(_ name: String = "client.vigie.test") throws -> SMTPResponse {
        heloName = name
        let response = try command("EHLO \(name)")
        ehloResponse = response
        extensions = [:]
        if response.isSuccess {
            for line in response.lines.dropFirst() {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard let keyword = parts.first else { continue }
                extensions[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
            }
        }
        return response
    }

    @discardableResult
    public func helo(_ name: String = "client.vigie.test") throws -> SMTPResponse {
        heloName = name
        return try command("HELO \(name)")
    }

    /// `XCLIENT LOGIN=<login>`: Postfix then treats the session as SASL-authenticated as
    /// `login` ({auth_authen} for milters, sasl_username in the log).
    /// See `xclient(attributes:reEHLO:)` for what is returned.
    @discardableResult
    public func xclient(login: String, reEHLO: Bool = true) throws -> SMTPResponse {
        try xclient(attributes: [("LOGIN", login)], reEHLO: reEHLO)
    }

    /// `XCLIENT NAME=value ...` with values xtext-encoded, in the given order, e.g.
    /// `["ADDR": "192.0.2.10", "NAME": "[UNAVAILABLE]", "HELO": "mx.example.org"]`.
    ///
    /// On success Postfix answers with a fresh 220 greeting (returned here); then, if
    /// `reEHLO`, the client sends EHLO again — with the HELO attribute's value if one was
    /// given, else the last EHLO name — and keeps that reply in `ehloResponse`.
    @discardableResult
    public func xclient(attributes: KeyValuePairs<String, String>, reEHLO: Bool = true) throws -> SMTPResponse {
        try xclient(attributes: attributes.map { ($0.key, $0.value) }, reEHLO: reEHLO)
    }

    @discardableResult
    public func xclient(attributes: [(String, String)], reEHLO: Bool = true) throws -> SMTPResponse {
        let encoded = attributes.map { "\($0.0.uppercased())=\(SMTPClient.xtext($0.1))" }
        let response = try command("XCLIENT " + encoded.joined(separator: " "))
        if response.code == 220 && reEHLO {
            let helo = attributes.first(where: { $0.0.uppercased() == "HELO" })?.1
            let name = (helo == nil || helo == "[UNAVAILABLE]" || helo == "[TEMPUNAVAIL]") ? heloName : helo!
            try ehlo(name)
        }
        return response
    }

    /// `AUTH PLAIN` with the initial response (RFC 4616): base64 of
    /// "authorization-identity NUL username NUL password". 235 when the server took the
    /// login, 535 5.7.8 for bad credentials. The transcript shows the username, never
    /// the encoded password.
    @discardableResult
    public func authPlain(username: String, password: String, authorizationIdentity: String = "") throws -> SMTPResponse {
        try authPlain(SMTPCredentials(username: username, password: password, authorizationIdentity: authorizationIdentity))
    }

    @discardableResult
    public func authPlain(_ credentials: SMTPCredentials) throws -> SMTPResponse {
        try sendLine("AUTH PLAIN \(credentials.plainResponse)", transcriptAs: "AUTH PLAIN <\(credentials.username), password>")
        return try readResponse(waitingFor: "the reply to AUTH")
    }

    /// `MAIL FROM:<address> [parameters]`; "" gives the null sender `<>`.
    @discardableResult
    public func mailFrom(_ address: String, parameters: [String] = []) throws -> SMTPResponse {
        try command((["MAIL FROM:\(SMTPClient.bracket(address))"] + parameters).joined(separator: " "))
    }

    /// `RCPT TO:<address> [parameters]`.
    @discardableResult
    public func rcptTo(_ address: String, parameters: [String] = []) throws -> SMTPResponse {
        try command((["RCPT TO:\(SMTPClient.bracket(address))"] + parameters).joined(separator: " "))
    }

    /// Sends DATA; if the server answers 354, sends `message` (line ends normalised to
    /// CRLF, lines starting with "." dot-stuffed) and the final ".", and returns the
    /// end-of-message reply. If DATA itself is refused, returns that reply.
    @discardableResult
    public func data(_ message: String) throws -> SMTPResponse {
        let response = try dataCommand()
        guard response.code == 354 else { return response }
        return try sendContent(message)
    }

    /// Only the DATA command (expects 354).
    @discardableResult
    public func dataCommand() throws -> SMTPResponse {
        try command("DATA")
    }

    /// Only the content and the final "." after a 354; returns the end-of-message reply.
    @discardableResult
    public func sendContent(_ message: String) throws -> SMTPResponse {
        try writeAll(Array(SMTPClient.encodeContent(message).utf8), what: "message content")
        transcript.append("C: <\(message.utf8.count) bytes of content>")
        transcript.append("C: .")
        return try readResponse(waitingFor: "the end-of-data reply")
    }

    @discardableResult
    public func rset() throws -> SMTPResponse { try command("RSET") }

    @discardableResult
    public func noop() throws -> SMTPResponse { try command("NOOP") }

    /// QUIT, then close. Returns the 221 (or whatever came back).
    @discardableResult
    public func quit() throws -> SMTPResponse {
        defer { close() }
        return try command("QUIT")
    }

    // MARK: Whole transactions

    /// One mail transaction on this connection: EHLO (if none yet), AUTH PLAIN (if
    /// `credentials` are given), XCLIENT (if `login` or `xclient` attributes are given;
    /// LOGIN is appended to the attributes), MAIL, every RCPT, DATA and the content.
    /// Stops at the first stage that refuses (all recipients refused counts as RCPT
    /// refusing) and sends RSET so the connection stays usable. Does not QUIT. SMTP
    /// refusals are in the result; only I/O problems throw.
    public func send(
        from sender: String,
        to recipients: [String],
        message: String,
        credentials: SMTPCredentials? = nil,
        login: String? = nil,
        xclient: KeyValuePairs<String, String> = [:],
        mailParameters: [String] = []
    ) throws -> SMTPSendResult {
        var result = SMTPSendResult(greeting: greeting)
        if ehloResponse == nil {
            let reply = try ehlo(heloName)
            result.ehlo = reply
            guard reply.isSuccess else { return result }
        }
        if let credentials {
            let reply = try authPlain(credentials)
            result.auth = reply
            guard reply.code == 235 else { return result }
        }
        var attributes = xclient.map { ($0.key, $0.value) }
        if let login { attributes.append(("LOGIN", login)) }
        if !attributes.isEmpty {
            let reply = try self.xclient(attributes: attributes, reEHLO: true)
            result.xclient = reply
            guard reply.code == 220 else { return result }
            result.ehloAfterXCLIENT = ehloResponse
            guard ehloResponse?.isSuccess == true else { return result }
        }
        let mail = try mailFrom(sender, parameters: mailParameters)
        result.mailFrom = mail
        guard mail.isSuccess else {
            abandonTransaction(after: mail)
            return result
        }
        for recipient in recipients {
            let reply = try rcptTo(recipient)
            result.recipients.append(SMTPRecipientResponse(address: recipient, response: reply))
            if reply.code == 421 { return result }
        }
        guard result.recipients.contains(where: { $0.response.isSuccess }) else {
            abandonTransaction(after: result.recipients.last?.response)
            return result
        }
        let dataReply = try dataCommand()
        result.dataCommand = dataReply
        guard dataReply.code == 354 else {
            abandonTransaction(after: dataReply)
            return result
        }
        result.endOfData = try sendContent(message)
        return result
    }

    /// Like `send(from:to:message:...)`, with the message built from `body` plus From, To,
    /// Subject, Date and Message-ID headers (and `headers`, full "Name: value" lines).
    public func send(
        from sender: String,
        to recipients: [String],
        subject: String = "Vigie test message",
        body: String,
        headers: [String] = [],
        credentials: SMTPCredentials? = nil,
        login: String? = nil,
        xclient: KeyValuePairs<String, String> = [:]
    ) throws -> SMTPSendResult {
        let message = SMTPClient.makeMessage(from: sender, to: recipients, subject: subject, body: body, headers: headers)
        return try send(from: sender, to: recipients, message: message, credentials: credentials, login: login, xclient: xclient)
    }

    /// Connects to `port`, runs one transaction (see the instance method), sends QUIT
    /// (best effort) and closes.
    public static func send(
        port: Int,
        host: String = "127.0.0.1",
        from sender: String,
        to recipients: [String],
        subject: String = "Vigie test message",
        body: String,
        headers: [String] = [],
        credentials: SMTPCredentials? = nil,
        login: String? = nil,
        xclient: KeyValuePairs<String, String> = [:],
        ehloName: String = "client.vigie.test",
        timeout: TimeInterval = 10
    ) throws -> SMTPSendResult {
        let client = try SMTPClient(host: host, port: port, timeout: timeout)
        defer { client.close() }
        var result = SMTPSendResult(greeting: client.greeting)
        guard client.greeting.code == 220 else { return result }
        let ehlo = try client.ehlo(ehloName)
        guard ehlo.isSuccess else {
            result.ehlo = ehlo
            _ = try? client.quit()
            return result
        }
        result = try client.send(
            from: sender, to: recipients, subject: subject, body: body, headers: headers,
            credentials: credentials, login: login, xclient: xclient)
        result.ehlo = ehlo
        _ = try? client.quit()
        return result
    }

    /// A minimal RFC 5322 message: From, To, Subject, Date, Message-ID, extra headers, body.
    public static func makeMessage(
        from sender: String, to recipients: [String], subject: String, body: String, headers: [String] = []
    ) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        var lines = [
            "From: <\(sender.isEmpty ? "MAILER-DAEMON@vigie.test" : sender)>",
            "To: " + recipients.map { "<\($0)>" }.joined(separator: ", "),
            "Subject: \(subject)",
            "Date: \(formatter.string(from: Date()))",
            "Message-ID: <\(UUID().uuidString.lowercased())@vigie.test>",
        ]
        lines.append(contentsOf: headers)
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    // MARK: Encoding helpers

    /// RFC 3461 xtext: "+", "=", controls, space and non-ASCII become "+HH".
    public static func xtext(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            if byte > 0x20 && byte < 0x7f && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "=") {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += "+" + String(format: "%02X", byte)
            }
        }
        return out
    }

    /// The message as sent after 354: CRLF line ends, dot-stuffing, final ".".
    public static func encodeContent(_ message: String) -> String {
        var normalized = message.replacingOccurrences(of: "\r\n", with: "\n")
        normalized = normalized.replacingOccurrences(of: "\r", with: "\n")
        if normalized.hasSuffix("\n") { normalized.removeLast() }
        var out = ""
        if !normalized.isEmpty || message.hasSuffix("\n") {
            for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(".") { out += "." }
                out += line
                out += "\r\n"
            }
        }
        return out + ".\r\n"
    }

    static func bracket(_ address: String) -> String {
        address.hasPrefix("<") ? address : "<\(address)>"
    }

    /// After a refusal inside a transaction: RSET so the connection can be reused,
    /// unless the server is closing (421).
    private func abandonTransaction(after reply: SMTPResponse?) {
        if reply?.code == 421 { return }
        _ = try? rset()
    }

    // MARK: Socket I/O

    private static func connect(host: String, port: Int, timeout: TimeInterval) throws -> Int32 {
        guard let address = SocketAddress(host: host == "localhost" ? "127.0.0.1" : host, port: port) else {
            throw SMTPClientError.connectFailed(host: host, port: port, reason: "not an IP address literal")
        }
        do {
            return try StreamSocket.connect(to: address, deadline: deadline(after: timeout))
        } catch {
            throw SMTPClientError.connectFailed(
                host: host, port: port, reason: error.timedOut ? "timed out after \(timeout) s" : POSIX.describe(errno: error.code))
        }
    }

    private static func deadline(after seconds: TimeInterval) -> ContinuousClock.Instant {
        .now + .milliseconds(Int64(max(0, min(seconds, 86_400)) * 1000))
    }

    private func sendLine(_ line: String, transcriptAs shown: String? = nil) throws {
        transcript.append("C: \(shown ?? line)")
        try writeAll(Array((line + "\r\n").utf8), what: "sending \(line.prefix(20))")
    }

    private func writeAll(_ bytes: [UInt8], what: String) throws {
        guard fd >= 0 else { throw SMTPClientError.notConnected }
        do {
            try StreamSocket.write(fd, bytes, deadline: Self.deadline(after: timeout))
        } catch {
            if error.timedOut { throw SMTPClientError.timeout(waitingFor: what, after: timeout, received: "") }
            throw SMTPClientError.io(operation: what, reason: POSIX.describe(errno: error.code))
        }
    }

    /// Reads one complete (possibly multi-line) reply within `timeout`.
    private func readResponse(waitingFor what: String) throws -> SMTPResponse {
        let deadline = Self.deadline(after: timeout)
        var rawLines: [String] = []
        while true {
            let line = try readLine(deadline: deadline, waitingFor: what, partialLines: rawLines)
            transcript.append("S: \(line)")
            rawLines.append(line)
            guard let (_, isLast, _) = SMTPResponse.parseLine(line) else {
                throw SMTPClientError.malformedReply(line: line, reason: "not an SMTP reply line")
            }
            if isLast { return try SMTPResponse.parse(rawLines) }
        }
    }

    private func readLine(deadline: ContinuousClock.Instant, waitingFor what: String, partialLines: [String]) throws -> String {
        guard fd >= 0 else { throw SMTPClientError.notConnected }
        func received() -> String {
            (partialLines + [String(decoding: buffer, as: UTF8.self)]).filter { !$0.isEmpty }.joined(separator: "\n")
        }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var lineBytes = buffer[..<newline]
                if lineBytes.last == UInt8(ascii: "\r") { lineBytes = lineBytes.dropLast() }
                let line = String(decoding: lineBytes, as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            if buffer.count > 1_000_000 {
                throw SMTPClientError.malformedReply(line: String(decoding: buffer.prefix(200), as: UTF8.self), reason: "line longer than 1 MB")
            }
            let chunk: [UInt8]
            do {
                chunk = try StreamSocket.read(fd, upTo: 16384, deadline: deadline)
            } catch {
                if error.timedOut { throw SMTPClientError.timeout(waitingFor: what, after: timeout, received: received()) }
                throw SMTPClientError.io(operation: "recv while waiting for \(what)", reason: POSIX.describe(errno: error.code))
            }
            if chunk.isEmpty { throw SMTPClientError.connectionClosed(waitingFor: what, received: received()) }
            buffer.append(contentsOf: chunk)
        }
    }
}
