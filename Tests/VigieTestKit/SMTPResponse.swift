// SMTP replies as the test client sees them, and the per-stage record of one transaction.

import Foundation

/// One SMTP reply, single- or multi-line.
public struct SMTPResponse: Sendable, Equatable, CustomStringConvertible {
    /// The three-digit reply code.
    public let code: Int
    /// The text of each line after the code and its separator ("-" or " "), as sent:
    /// for Postfix this still starts with the enhanced status code, e.g. "5.7.1 Limit reached".
    public let lines: [String]
    /// The RFC 3463 enhanced status code from the first line ("5.7.1"), if present.
    public let enhancedCode: String?

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
        self.enhancedCode = lines.first.flatMap(SMTPResponse.leadingEnhancedCode)
    }

    /// Each line without its leading enhanced status code.
    public var messages: [String] {
        lines.map { line in
            guard let code = SMTPResponse.leadingEnhancedCode(line) else { return line }
            return String(line.dropFirst(code.count).drop(while: { $0 == " " }))
        }
    }

    /// `messages` joined with newlines: the human-readable text of the reply.
    public var text: String { messages.joined(separator: "\n") }

    /// 2xx
    public var isSuccess: Bool { (200..<300).contains(code) }
    /// 3xx (e.g. 354 after DATA)
    public var isIntermediate: Bool { (300..<400).contains(code) }
    /// 4xx
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    /// 5xx
    public var isPermanentFailure: Bool { (500..<600).contains(code) }
    /// 4xx or 5xx
    public var isFailure: Bool { code >= 400 }

    /// The reply as it came over the wire (without CRLF).
    public var wireLines: [String] {
        if lines.isEmpty { return ["\(code)"] }
        return lines.enumerated().map { index, line in
            "\(code)\(index == lines.count - 1 ? " " : "-")\(line)"
        }
    }

    public var description: String { wireLines.joined(separator: "\n") }

    /// "5.7.1" at the start of `line`, followed by a space or the end of the line.
    static func leadingEnhancedCode(_ line: String) -> String? {
        let token = line.prefix(while: { $0 != " " })
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            ["2", "4", "5"].contains(parts[0]),
            parts[1].count >= 1, parts[1].count <= 3, parts[1].allSatisfy(\.isASCIIDigit),
            parts[2].count >= 1, parts[2].count <= 3, parts[2].allSatisfy(\.isASCIIDigit)
        else { return nil }
        return String(token)
    }

    /// Parses the lines of one reply (without CRLF). All lines but the last must use "-".
    static func parse(_ rawLines: [String]) throws -> SMTPResponse {
        guard let first = rawLines.first else { throw SMTPClientError.malformedReply(line: "", reason: "empty reply") }
        var code: Int?
        var texts: [String] = []
        for (index, raw) in rawLines.enumerated() {
            guard let (lineCode, isLast, text) = parseLine(raw) else {
                throw SMTPClientError.malformedReply(line: raw, reason: "not an SMTP reply line")
            }
            if let code, code != lineCode {
                throw SMTPClientError.malformedReply(line: raw, reason: "reply code changed from \(code) (first line: \(first))")
            }
            code = lineCode
            if isLast != (index == rawLines.count - 1) {
                throw SMTPClientError.malformedReply(line: raw, reason: "continuation marker out of place")
            }
            texts.append(text)
        }
        return SMTPResponse(code: code!, lines: texts)
    }

    /// (code, is last line, text) for "250-text", "250 text" or "250".
    static func parseLine(_ raw: String) -> (Int, Bool, String)? {
        let scalars = Array(raw.utf8)
        guard scalars.count >= 3,
            scalars[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let code = Int(String(decoding: scalars[0...2], as: UTF8.self))
        else { return nil }
        if scalars.count == 3 { return (code, true, "") }
        let separator = scalars[3]
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else { return nil }
        let text = String(decoding: scalars[4...], as: UTF8.self)
        return (code, separator == UInt8(ascii: " "), text)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Errors of the SMTP client itself. An SMTP-level refusal is never thrown: it comes back
/// as an `SMTPResponse` with a 4xx/5xx code.
public enum SMTPClientError: Error, CustomStringConvertible, Sendable {
    case connectFailed(host: String, port: Int, reason: String)
    case timeout(waitingFor: String, after: TimeInterval, received: String)
    case connectionClosed(waitingFor: String, received: String)
    case malformedReply(line: String, reason: String)
    case io(operation: String, reason: String)
    case notConnected

    public var description: String {
        switch self {
        case let .connectFailed(host, port, reason):
            return "SMTP connect to \(host):\(port) failed: \(reason)"
        case let .timeout(what, after, received):
            return "SMTP timeout after \(after) s waiting for \(what)"
                + (received.isEmpty ? " (nothing received)" : "; partial data: \(received.debugDescription)")
        case let .connectionClosed(what, received):
            return "SMTP server closed the connection while waiting for \(what)"
                + (received.isEmpty ? "" : "; partial data: \(received.debugDescription)")
        case let .malformedReply(line, reason):
            return "malformed SMTP reply (\(reason)): \(line.debugDescription)"
        case let .io(operation, reason):
            return "SMTP \(operation) failed: \(reason)"
        case .notConnected:
            return "SMTP client is not connected"
        }
    }
}

/// One stage of an SMTP transaction.
public enum SMTPStage: String, Sendable, CaseIterable {
    case greeting, ehlo, auth, xclient, mailFrom, rcptTo, data, endOfData
}

/// A login and password for `AUTH PLAIN` (`SMTPClient.authPlain`).
public struct SMTPCredentials: Sendable, Equatable {
    public let username: String
    public let password: String
    /// The identity to act as; empty (the usual case) means the username itself.
    public let authorizationIdentity: String

    public init(username: String, password: String, authorizationIdentity: String = "") {
        self.username = username
        self.password = password
        self.authorizationIdentity = authorizationIdentity
    }

    /// The PLAIN initial response (RFC 4616): base64 of authzid NUL authcid NUL password.
    public var plainResponse: String {
        Data("\(authorizationIdentity)\u{0}\(username)\u{0}\(password)".utf8).base64EncodedString()
    }
}

/// The reply to one RCPT TO.
public struct SMTPRecipientResponse: Sendable, Equatable {
    public let address: String
    public let response: SMTPResponse
}

/// What each stage of `SMTPClient.send(...)` answered. Stages not reached are nil.
public struct SMTPSendResult: Sendable, CustomStringConvertible {
    public var greeting: SMTPResponse
    public var ehlo: SMTPResponse?
    /// The reply to AUTH PLAIN (235 when the login was accepted), if credentials were given.
    public var auth: SMTPResponse?
    /// The reply to XCLIENT (220 when accepted); the EHLO sent after it is in `ehloAfterXCLIENT`.
    public var xclient: SMTPResponse?
    public var ehloAfterXCLIENT: SMTPResponse?
    public var mailFrom: SMTPResponse?
    public var recipients: [SMTPRecipientResponse] = []
    /// The reply to the DATA command itself (354 when the server wants the content).
    public var dataCommand: SMTPResponse?
    /// The reply after the content's final "." — the end-of-message verdict.
    public var endOfData: SMTPResponse?

    public init(greeting: SMTPResponse) { self.greeting = greeting }

    /// True when the server took the message (250 after the final ".").
    public var accepted: Bool { endOfData?.code == 250 }

    /// The Postfix queue id from "250 2.0.0 Ok: queued as 4ABCD123", if accepted.
    public var queueID: String? {
        guard let endOfData, endOfData.code == 250 else { return nil }
        for line in endOfData.lines {
            if let range = line.range(of: "queued as ") {
                let id = line[range.upperBound...].prefix(while: { $0.isLetter || $0.isNumber })
                if !id.isEmpty { return String(id) }
            }
        }
        return nil
    }

    /// The reply to RCPT TO for `address` (first match, case-insensitive).
    public func rcptTo(_ address: String) -> SMTPResponse? {
        recipients.first { $0.address.lowercased() == address.lowercased() }?.response
    }

    /// Recipients the server accepted at RCPT.
    public var acceptedRecipients: [String] {
        recipients.filter { $0.response.isSuccess }.map(\.address)
    }

    /// The first stage that did not answer positively, with its reply; nil if the message
    /// was accepted. A refused recipient counts only if every recipient was refused.
    public var refusal: (stage: SMTPStage, response: SMTPResponse)? {
        if !(greeting.code == 220) { return (.greeting, greeting) }
        if let ehlo, !ehlo.isSuccess { return (.ehlo, ehlo) }
        if let auth, auth.code != 235 { return (.auth, auth) }
        if let xclient, xclient.code != 220 { return (.xclient, xclient) }
        if let ehloAfterXCLIENT, !ehloAfterXCLIENT.isSuccess { return (.ehlo, ehloAfterXCLIENT) }
        if let mailFrom, !mailFrom.isSuccess { return (.mailFrom, mailFrom) }
        if !recipients.isEmpty, !recipients.contains(where: { $0.response.isSuccess }) {
            return (.rcptTo, recipients[0].response)
        }
        if let dataCommand, dataCommand.code != 354 { return (.data, dataCommand) }
        if let endOfData, !endOfData.isSuccess { return (.endOfData, endOfData) }
        return nil
    }

    /// The stage that refused, if any (see `refusal`).
    public var refusedStage: SMTPStage? { refusal?.stage }

    public var description: String {
        var parts = ["greeting: \(greeting)"]
        if let ehlo { parts.append("ehlo: \(ehlo.wireLines.last ?? "")") }
        if let auth { parts.append("auth: \(auth)") }
        if let xclient { parts.append("xclient: \(xclient)") }
        if let ehloAfterXCLIENT { parts.append("ehlo after xclient: \(ehloAfterXCLIENT.wireLines.last ?? "")") }
        if let mailFrom { parts.append("mail from: \(mailFrom)") }
        for recipient in recipients { parts.append("rcpt to <\(recipient.address)>: \(recipient.response)") }
        if let dataCommand { parts.append("data: \(dataCommand)") }
        if let endOfData { parts.append("end of data: \(endOfData)") }
        return parts.joined(separator: "\n")
    }
}
