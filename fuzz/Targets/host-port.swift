import VigieSockets

/// The one host:port syntax (Sources/VigieSockets/HostPort.swift) and its numeric
/// check (`SocketAddress.parse`): the text comes from configuration files and
/// command lines (nameservers, listeners, Redis), and from /etc/resolv.conf.
///
/// Properties, with and without a default port:
/// - a parsed host is not empty and holds no blank or bracket; its port is from 1
///   to 65535, or the default;
/// - the host and port written back (`[h]:p` for a host with a colon) parse to the
///   same values;
/// - an address parses only where the syntax does, with the same port; its
///   description parses back to an equal address, and its host text rebuilds it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHostPort(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for defaultPort in [nil, 53] as [Int?] {
        let syntax = HostPort.parse(text, defaultPort: defaultPort)
        if case .success(let hostPort) = syntax {
            require(!hostPort.host.isEmpty, "empty host from \(text)")
            require(!hostPort.host.contains(where: { $0.isWhitespace || $0 == "[" || $0 == "]" }), "blank or bracket in \(hostPort.host)")
            require((1...65_535).contains(hostPort.port) || hostPort.port == defaultPort, "port \(hostPort.port) from \(text)")
            let written = hostPort.host.contains(":") ? "[\(hostPort.host)]:\(hostPort.port)" : "\(hostPort.host):\(hostPort.port)"
            if (1...65_535).contains(hostPort.port) {
                require((try? HostPort.parse(written).get()) == hostPort, "\(written) does not parse back")
            }
        }
        if case .success(let address) = SocketAddress.parse(text, defaultPort: defaultPort) {
            guard case .success(let hostPort) = syntax else { fatalError("an address where the syntax failed: \(text)") }
            require(address.port == hostPort.port, "port \(address.port) against \(hostPort.port)")
            require((try? SocketAddress.parse(address.description).get()) == address, "\(address) does not parse back")
            require(SocketAddress(host: address.host, port: address.port) == address, "\(address.host) does not rebuild \(address)")
        }
    }
    return 0
}
