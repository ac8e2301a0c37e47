/// Where a lookup service listens.
///
/// Syntax: `127.0.0.1:10001` (postsrsd 1.x style, host and port), `inet:127.0.0.1:10003`
/// and `inet:[::1]:10003`, or `unix:/absolute/path` (Postfix: `socketmap:unix:PATH:name`).
///
/// Security: the lookup protocols carry no authentication, and the forward table signs
/// whatever it is asked: anyone reaching it can mint valid SRS addresses (and so relay
/// bounces through this host). Only loopback hosts are accepted.
public enum LookupListenAddress: Sendable, Equatable, CustomStringConvertible {
    case inet(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case .inet(let host, let port): host.contains(":") ? "inet:[\(host)]:\(port)" : "inet:\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }

    /// The address, or what is wrong with `text` in words for the admin.
    public static func parse(_ text: String) -> Result<LookupListenAddress, Problem> {
        let syntax = "expected \"127.0.0.1:PORT\", \"inet:127.0.0.1:PORT\" or \"unix:/absolute/path\""
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") else { return .failure(Problem("the unix socket path must be absolute; \(syntax)")) }
            guard path.utf8.count <= 107 else { return .failure(Problem("the unix socket path is longer than 107 bytes, which the kernel refuses")) }
            guard !path.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return .failure(Problem("the path contains a control character")) }
            return .success(.unix(path: path))
        }
        let rest = text.hasPrefix("inet:") ? Substring(text.dropFirst(5)) : Substring(text)
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                return .failure(Problem(syntax))
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return .failure(Problem("\(syntax): the port is missing")) }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (1...65_535).contains(port) else {
            return .failure(Problem("the port must be a number from 1 to 65535, got \"\(portText)\""))
        }
        guard isLoopback(String(host)) else {
            return .failure(Problem("must listen on loopback (127.0.0.1, ::1 or localhost), got \"\(host)\": the SRS tables have no authentication, and whoever reaches the forward table can mint valid SRS addresses"))
        }
        return .success(.inet(host: host == "localhost" ? "127.0.0.1" : String(host), port: port))
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        let values = octets.compactMap { $0.count <= 3 && $0.allSatisfy(\.isASCII) ? UInt8($0) : nil }
        return values.count == 4 && values[0] == 127
    }

    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let message: String
        init(_ message: String) { self.message = message }
        public var description: String { message }
    }
}
