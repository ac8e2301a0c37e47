/// A host and port as written in configuration and on command lines:
/// `192.0.2.1:53`, `[2001:db8::1]:53`, `localhost:9469`; with a default port also
/// `192.0.2.1`, `[::1]` and a bare IPv6 address (`::1`, whose colons cannot be a
/// port's). The one host:port syntax of Vigie: nameservers, listeners, Redis.
///
/// Only the syntax is read here; whether the host must be a numeric address (it
/// must for a socket Vigie opens itself: `SocketAddress`) or on loopback is the
/// caller's rule.
public struct HostPort: Sendable, Hashable {
    public var host: String
    public var port: Int

    /// What is wrong with a host:port text, in words for the admin.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Reads `text`. The port is digits only, from 1 to 65535 (0 would mean "any
    /// port", never meant in a configuration); without one, `defaultPort` is taken,
    /// and with no default a missing port is refused.
    public static func parse(_ text: some StringProtocol, defaultPort: Int? = nil) -> Result<HostPort, Problem> {
        let text = Substring(text)
        // Printable ASCII only (addresses and host names are): a combining mark after
        // "[" or ":" would make one Swift Character of the two and hide the separator.
        guard text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return .failure(Problem("\"\(text)\" contains a blank, a control character or a character that is not ASCII"))
        }
        let host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(Problem("an IPv6 address needs its closing ']', got \"\(text)\""))
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return .failure(Problem("expected ':PORT' after ']', got \"\(rest)\"")) }
                portText = rest.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            if text[text.index(after: colon)...].contains(":") {
                // An IPv6 address without brackets: its last group is not a port.
                host = text
            } else {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            }
        } else {
            host = text
        }
        if host.isEmpty { return .failure(Problem("the host is missing in \"\(text)\"")) }
        if host.contains(where: { $0 == "[" || $0 == "]" }) {
            return .failure(Problem("the host \"\(host)\" contains a bracket"))
        }
        guard let portText else {
            guard let defaultPort else {
                return .failure(Problem("the port is missing in \"\(text)\" (an IPv6 address is written [::1]:PORT)"))
            }
            return .success(HostPort(host: String(host), port: defaultPort))
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (1...65_535).contains(port) else {
            return .failure(Problem("the port must be a number from 1 to 65535, got \"\(portText)\""))
        }
        return .success(HostPort(host: String(host), port: port))
    }
}
