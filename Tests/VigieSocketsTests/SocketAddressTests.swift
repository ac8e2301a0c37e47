import Testing
import VigieSockets

/// The one host:port syntax (nameservers, listeners, Redis) and its numeric check.
@Suite struct SocketAddressTests {
    @Test func addressesWithAndWithoutAPort() throws {
        let v4 = try SocketAddress.parse("127.0.0.1:5353").get()
        #expect(v4.family == .ipv4 && v4.host == "127.0.0.1" && v4.port == 5353)
        #expect(v4.description == "127.0.0.1:5353")
        let v6 = try SocketAddress.parse("[::1]:53").get()
        #expect(v6.family == .ipv6 && v6.host == "::1" && v6.port == 53)
        #expect(v6.description == "[::1]:53")
        #expect(try SocketAddress.parse("192.0.2.53", defaultPort: 53).get().port == 53)
        #expect(try SocketAddress.parse("[2001:db8::53]", defaultPort: 53).get().description == "[2001:db8::53]:53")
        // Colons that cannot be a port's: a bare IPv6 address, with the default port.
        #expect(try SocketAddress.parse("::1", defaultPort: 53).get() == v6)
    }

    @Test func oneAddressHowEverItIsSpelt() throws {
        #expect(try SocketAddress.parse("[0:0::1]:53").get() == SocketAddress.parse("[::1]:53").get())
        #expect(SocketAddress(host: "2001:DB8::1", port: 1)?.host == "2001:db8::1")
        #expect(SocketAddress(host: "127.0.0.1", port: 53) != SocketAddress(host: "127.0.0.1", port: 54))
        #expect(SocketAddress(anyOf: .ipv6, port: 0).description == "[::]:0")
    }

    @Test(arguments: [
        ("dns.example:53", "not an IPv4 or IPv6 address"),
        ("localhost:53", "not an IPv4 or IPv6 address"),
        ("256.0.0.1:53", "not an IPv4 or IPv6 address"),
        ("1.2.3.4.5:53", "not an IPv4 or IPv6 address"),
        ("127.0.0.1:0", "from 1 to 65535"),
        ("127.0.0.1:65536", "from 1 to 65535"),
        ("127.0.0.1:99999", "from 1 to 65535"),
        ("127.0.0.1:+53", "from 1 to 65535"),
        ("127.0.0.1:", "from 1 to 65535"),
        ("127.0.0.1:5 3", "blank"),
        ("127.0.0.1", "the port is missing"),
        ("::1", "the port is missing"),
        ("[::1", "closing ']'"),
        ("[::1]53", "expected ':PORT'"),
        ("[::1]:", "from 1 to 65535"),
        ("[]:53", "the host is missing"),
        (":53", "the host is missing"),
        ("", "the host is missing"),
        (" 127.0.0.1:53", "blank"),
        ("127.0.0.1:5\u{0}3", "control character"),
        ("[\u{358}::1]:53", "not ASCII"),
        ("[[::1]:53", "bracket"),
        ("[::1]]:53", "expected ':PORT'"),
    ])
    func badAddressesAreRefusedWithAReason(text: String, reason: String) {
        switch SocketAddress.parse(text) {
        case .success(let address): Issue.record("\"\(text)\" read as \(address)")
        case .failure(let problem): #expect(problem.message.contains(reason), "\"\(text)\": \(problem)")
        }
    }

    @Test func aHostNameIsSyntaxForOthersToCheck() throws {
        // Redis and the listeners' "localhost" pass the syntax; only SocketAddress
        // insists on a number.
        let local = try HostPort.parse("localhost:9469").get()
        #expect(local.host == "localhost" && local.port == 9469)
        #expect(try HostPort.parse("redis.internal", defaultPort: 6379).get().port == 6379)
    }

    @Test func outOfRangeOrNamedHostsAreNotAddresses() {
        #expect(SocketAddress(host: "127.0.0.1", port: -1) == nil)
        #expect(SocketAddress(host: "127.0.0.1", port: 65_536) == nil)
        #expect(SocketAddress(host: "example.org", port: 53) == nil)
        #expect(SocketAddress(host: "fe80::1%lo", port: 53) == nil, "scope ids are not taken")
        #expect(SocketAddress(host: "127.0.0.1", port: 0)?.port == 0, "port 0: the kernel picks, for a bind")
    }
}
