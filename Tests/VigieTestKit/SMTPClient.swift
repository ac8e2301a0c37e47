// A blocking SMTP client over POSIX sockets for end-to-end tests. Every read and write
// waits at most `timeout` seconds (poll on a non-blocking socket), so a test never hangs
// on a silent server: it gets an `SMTPClientError.timeout` that says what it waited for.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
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
            #if canImport(Glibc) || canImport(Musl)
            _ = Glibc.close(fd)
            #else
            _ = Darwin.close(fd)
            #endif
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
        let literal = host == "localhost" ? "127.0.0.1" : host
        var storage = sockaddr_storage()
        var length: socklen_t
        let family: Int32
        if literal.contains(":") {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, literal, &addr.sin6_addr) == 1 else {
                throw SMTPClientError.connectFailed(host: host, port: port, reason: "not an IP address literal")
            }
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: addr) { dst.copyMemory(from: $0) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, literal, &addr.sin_addr) == 1 else {
                throw SMTPClientError.connectFailed(host: host, port: port, reason: "not an IP address literal")
            }
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: addr) { dst.copyMemory(from: $0) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }

        #if os(Linux)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        #else
        let fd = socket(family, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else {
            throw SMTPClientError.connectFailed(host: host, port: port, reason: "socket(): \(POSIX.describe(errno: errno))")
        }
        #if !os(Linux)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                SMTPClient.systemConnect(fd, sockaddrPointer, length)
            }
        }
        if rc != 0 {
            let code = errno
            guard code == EINPROGRESS || code == EINTR else {
                SMTPClient.systemClose(fd)
                throw SMTPClientError.connectFailed(host: host, port: port, reason: POSIX.describe(errno: code))
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(0, timeout) * 1000))
            if ready <= 0 {
                SMTPClient.systemClose(fd)
                throw SMTPClientError.connectFailed(
                    host: host, port: port,
                    reason: ready == 0 ? "timed out after \(timeout) s" : POSIX.describe(errno: errno))
            }
            var soError: Int32 = 0
            var soLength = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &soLength)
            if soError != 0 {
                SMTPClient.systemClose(fd)
                throw SMTPClientError.connectFailed(host: host, port: port, reason: POSIX.describe(errno: soError))
            }
        }
        return fd
    }

    private static func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        #if canImport(Glibc) || canImport(Musl)
        return Glibc.connect(fd, address, length)
        #else
        return Darwin.connect(fd, address, length)
        #endif
    }

    private static func systemSend(_ fd: Int32, _ base: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int {
        #if canImport(Glibc) || canImport(Musl)
        return Glibc.send(fd, base, count, flags)
        #else
        return Darwin.send(fd, base, count, flags)
        #endif
    }

    private static func systemClose(_ fd: Int32) {
        #if canImport(Glibc) || canImport(Musl)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }

    private func sendLine(_ line: String, transcriptAs shown: String? = nil) throws {
        transcript.append("C: \(shown ?? line)")
        try writeAll(Array((line + "\r\n").utf8), what: "sending \(line.prefix(20))")
    }

    private func writeAll(_ bytes: [UInt8], what: String) throws {
        guard fd >= 0 else { throw SMTPClientError.notConnected }
        let deadline = Date().addingTimeInterval(timeout)
        var offset = 0
        while offset < bytes.count {
            #if os(Linux)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let n = bytes[offset...].withUnsafeBytes { SMTPClient.systemSend(fd, $0.baseAddress, $0.count, flags) }
            if n > 0 {
                offset += n
                continue
            }
            let code = errno
            if n < 0 && code == EINTR { continue }
            if n < 0 && (code == EAGAIN || code == EWOULDBLOCK) {
                let remaining = deadline.timeIntervalSinceNow
                if remaining <= 0 {
                    throw SMTPClientError.timeout(waitingFor: what, after: timeout, received: "")
                }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, Int32(remaining * 1000) + 1)
                continue
            }
            throw SMTPClientError.io(operation: what, reason: POSIX.describe(errno: code))
        }
    }

    /// Reads one complete (possibly multi-line) reply within `timeout`.
    private func readResponse(waitingFor what: String) throws -> SMTPResponse {
        let deadline = Date().addingTimeInterval(timeout)
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

    private func readLine(deadline: Date, waitingFor what: String, partialLines: [String]) throws -> String {
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
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                throw SMTPClientError.timeout(waitingFor: what, after: timeout, received: received())
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(remaining, 3600) * 1000) + 1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SMTPClientError.io(operation: "poll while waiting for \(what)", reason: POSIX.describe(errno: errno))
            }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                throw SMTPClientError.connectionClosed(waitingFor: what, received: received())
            } else {
                let code = errno
                if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
                throw SMTPClientError.io(operation: "recv while waiting for \(what)", reason: POSIX.describe(errno: code))
            }
        }
    }
}
