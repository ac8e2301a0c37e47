#if canImport(Glibc)
import Glibc
#endif
public import VigieSockets

/// A nameserver is a `SocketAddress`, written as an IP literal with an optional
/// port (53 by default): `192.0.2.53`, `127.0.0.1:5353`, `[2001:db8::53]:53`,
/// `::1`. Names are refused: a resolver cannot resolve its own server's name.
/// The syntax is VigieSockets' one host:port parser (`SocketAddress.parse`).
public enum Nameserver {
    public static let defaultPort = 53

    /// The address in `text` (blanks around it ignored), or what is wrong with it.
    public static func parse(_ text: String) -> Result<SocketAddress, HostPort.Problem> {
        let trimmed = text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
        return SocketAddress.parse(String(trimmed), defaultPort: defaultPort)
    }

    /// The address in `text`, nil when it is not one.
    public static func address(_ text: String) -> SocketAddress? { try? parse(text).get() }

    /// The servers in /etc/resolv.conf, for when none is configured.
    public static func systemDefaults(path: String = "/etc/resolv.conf") -> [SocketAddress] {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var servers: [SocketAddress] = []
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let fields = String(cString: line).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if fields.count >= 2, fields[0] == "nameserver", let address = address(String(fields[1])) {
                servers.append(address)
            }
        }
        return servers
    }
}
