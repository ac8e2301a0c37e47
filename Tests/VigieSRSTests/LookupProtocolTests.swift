// The Postfix lookup protocols (tcp_table, socketmap) and the table decisions, then
// real servers on loopback and on a unix socket driven like Postfix drives them.

import Foundation
import VigieSockets
import Logging
import Testing
@testable import SRSLookup
@testable import VigieSRS
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

func makeTable(forwardTransport: String? = "smtp:[127.0.0.1]:10026") throws -> SRSLookupTable {
    SRSLookupTable(codec: try makeCodec(excluded: ["club.example"]), forwardTransport: forwardTransport,
                   logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, now: { fixedNow })
}

@Suite("SRS lookup protocols")
struct LookupProtocolTests {
    @Test("tcp_table: get, %XX decoding and encoding, malformed requests answered 500")
    func tcpTable() {
        #expect(TCPTableProtocol.parse(line: Array("get alice@example.com".utf8)[...]) == .get(key: Array("alice@example.com".utf8)))
        #expect(TCPTableProtocol.parse(line: Array("get %22john%20doe%22@example.com\r".utf8)[...])
                == .get(key: Array("\"john doe\"@example.com".utf8)))
        for bad in ["", "get", "get ", "put a b", "GET x", "get %2", "get %zz", "get a%"] {
            if case .get = TCPTableProtocol.parse(line: Array(bad.utf8)[...]) { Issue.record("accepted \(bad)") }
        }
        #expect(TCPTableProtocol.reply(.found(Array("a b%c\n".utf8))) == Array("200 a%20b%25c%0A\n".utf8))
        #expect(TCPTableProtocol.reply(.notFound) == Array("500 not found\n".utf8))
        #expect(TCPTableProtocol.reply(.temporary("x y")).starts(with: Array("400 x%20y".utf8)))
        // Encoding round trip over every byte.
        let all = (0...255).map(UInt8.init)
        #expect(TCPTableProtocol.decode(TCPTableProtocol.encode(all)[...]) == all)
    }

    @Test("netstrings: complete, incomplete, malformed, limits")
    func netstrings() {
        #expect(SocketmapProtocol.parseNetstring(Array("5:hello,rest".utf8)[...]) == .complete(payload: Array("5:hello,rest".utf8)[2...6], consumed: 8))
        #expect(SocketmapProtocol.parseNetstring(Array("0:,".utf8)[...]) == .complete(payload: Array("0:,".utf8)[2..<2], consumed: 3))
        for partial in ["", "5", "5:", "5:hel", "5:hello"] {
            #expect(SocketmapProtocol.parseNetstring(Array(partial.utf8)[...]) == .incomplete, "\(partial)")
        }
        for bad in [":x,", "a:", "5:hello;", "-1:", "99999999:", "10001:"] {
            if case .malformed = SocketmapProtocol.parseNetstring(Array(bad.utf8)[...]) {} else { Issue.record("\(bad) not malformed") }
        }
        #expect(SocketmapProtocol.netstring(Array("OK x".utf8)) == Array("4:OK x,".utf8))
        #expect(SocketmapProtocol.parse(payload: Array("forward a@b".utf8)[...]) == .lookup(table: .forward, key: Array("a@b".utf8)))
        if case .lookup = SocketmapProtocol.parse(payload: Array("nosuchmap a@b".utf8)[...]) { Issue.record("unknown map accepted") }
        if case .lookup = SocketmapProtocol.parse(payload: Array("forward ".utf8)[...]) { Issue.record("empty key accepted") }
    }

    @Test("fuzz: the parsers are total on random input")
    func fuzzParsers() {
        var generator = SeededRandom(seed: 99)
        let seeds = Array("get 0123456789:,% forward reverse access transport @SRS0=".utf8)
        for _ in 0..<50_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Bool.random(using: &generator) ? seeds.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            _ = TCPTableProtocol.parse(line: bytes[...])
            _ = TCPTableProtocol.decode(bytes[...])
            if case .complete(let payload, let consumed) = SocketmapProtocol.parseNetstring(bytes[...]) {
                #expect(consumed <= bytes.count && payload.count < consumed)
                _ = SocketmapProtocol.parse(payload: payload)
            }
            _ = SocketmapProtocol.parse(payload: bytes[...])
        }
    }

    @Test("table decisions: forward, reverse, access (550 with a reason), transport")
    func decisions() throws {
        let table = try makeTable()
        let srs = "SRS0=PGkz=G3=example.com=alice@srs.example"
        #expect(table.lookup(.forward, key: Array("alice@example.com".utf8)) == .found(Array(srs.utf8)))
        #expect(table.lookup(.forward, key: Array("bob@club.example".utf8)) == .notFound)
        #expect(table.lookup(.forward, key: Array(srs.utf8)) == .notFound)  // own output left alone: no loop
        #expect(table.lookup(.forward, key: Array("@example.com".utf8)) == .notFound)
        #expect(table.lookup(.reverse, key: Array(srs.utf8)) == .found(Array("alice@example.com".utf8)))
        #expect(table.lookup(.reverse, key: Array("SRS0=XXXX=G3=example.com=alice@srs.example".utf8)) == .notFound)
        #expect(table.lookup(.reverse, key: Array("alice@example.com".utf8)) == .notFound)

        #expect(table.lookup(.access, key: Array(srs.utf8)) == .notFound)
        for (key, text) in [("SRS0=XXXX=G3=example.com=alice@srs.example", "550 5.7.1"),
                            ("SRS0=PGkz=G3@srs.example", "550 5.1.3")] {
            guard case .found(let reply) = table.lookup(.access, key: Array(key.utf8)) else {
                Issue.record("\(key) not refused")
                continue
            }
            #expect(String(decoding: reply, as: UTF8.self).hasPrefix(text))
        }
        let expired = try #require(rewritten(try table.codec.forward("alice@example.com", now: fixedNow - 30 * day)))
        guard case .found(let reply) = table.lookup(.access, key: Array(expired.utf8)) else { Issue.record("expired accepted"); return }
        #expect(String(decoding: reply, as: UTF8.self).contains("expired"))
        // check_recipient_access also asks for the domain and "localpart@": never refused.
        #expect(table.lookup(.access, key: Array("srs.example".utf8)) == .notFound)
        #expect(table.lookup(.access, key: Array("SRS0=XXXX=G3=example.com=alice@".utf8)) == .notFound)
        #expect(table.lookup(.access, key: Array("SRS0=XXXX=G3=example.com=alice@other.example".utf8)) == .notFound)

        #expect(table.lookup(.transport, key: Array("alice@example.com".utf8)) == .found(Array("smtp:[127.0.0.1]:10026".utf8)))
        #expect(table.lookup(.transport, key: Array(srs.utf8)) == .notFound)
        #expect(table.lookup(.transport, key: Array("bob@club.example".utf8)) == .notFound)
        #expect(table.lookup(.transport, key: Array("".utf8)) == .notFound)
    }

    @Test("live servers: tcp_table and socketmap over loopback and a unix socket, many requests per connection")
    func liveServers() throws {
        let table = try makeTable()
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let forward = try LookupServer(address: .inet(host: "127.0.0.1", port: try LoopbackPort.free()), kind: .tcpTable,
                                       table: .forward, lookups: table, logger: logger)
        forward.start()
        let directory = try TestDirectory.make(prefix: "vigie-srs-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketmap = try LookupServer(address: .unix(path: directory + "/srs.sock"), kind: .socketmap, lookups: table, logger: logger)
        socketmap.start()

        let tcp = try LineClient(port: forward.boundPort!)
        #expect(try tcp.request("get alice@example.com\n") == "200 SRS0=PGkz=G3=example.com=alice@srs.example\n")
        #expect(try tcp.request("get bob@club.example\n") == "500 not found\n")
        #expect(try tcp.request("garbage\n").hasPrefix("500 "))
        #expect(try tcp.request("get %zz\n").hasPrefix("500 "))
        #expect(try tcp.request("get alice@example.com\n").hasPrefix("200 "))  // still usable
        // An over-long line closes the connection after a 500, the server survives.
        let long = try LineClient(port: forward.boundPort!)
        #expect(try long.request("get " + String(repeating: "a", count: 10_000) + "\n").hasPrefix("500 "))
        #expect(try LineClient(port: forward.boundPort!).request("get alice@example.com\n").hasPrefix("200 "))

        let unix = try LineClient(unixPath: directory + "/srs.sock")
        #expect(try unix.request(ns("forward alice@example.com")) == ns("OK SRS0=PGkz=G3=example.com=alice@srs.example"))
        #expect(try unix.request(ns("reverse SRS0=PGkz=G3=example.com=alice@srs.example")) == ns("OK alice@example.com"))
        #expect(try unix.request(ns("forward bob@club.example")) == "9:NOTFOUND ,")
        #expect(try unix.request("5:nope x,").hasPrefix("PERM", after: ":"))
        // Malformed framing: PERM, then the server closes; a new connection works.
        let broken = try LineClient(unixPath: directory + "/srs.sock")
        #expect(try broken.request("x:forward,").hasPrefix("PERM", after: ":"))
        #expect(try LineClient(unixPath: directory + "/srs.sock").request(ns("forward alice@example.com")).contains("OK SRS0="))
        #expect(table.statistics.lookups.load(ordering: .relaxed) >= 8)
    }
}

/// A netstring.
func ns(_ text: String) -> String { "\(text.utf8.count):\(text)," }

extension String {
    func hasPrefix(_ prefix: String, after separator: Character) -> Bool {
        guard let index = firstIndex(of: separator) else { return false }
        return self[self.index(after: index)...].hasPrefix(prefix)
    }
}

/// A blocking test client: sends bytes, reads one reply (a line or one netstring).
final class LineClient {
    let fd: Int32

    init(port: Int) throws {
        fd = try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: port), timeout: .seconds(5))
    }

    init(unixPath: String) throws {
        fd = try StreamSocket.connect(to: .unix(path: unixPath), timeout: .seconds(5))
    }

    deinit { close(fd) }

    /// Sends `text` and reads until a newline or a complete netstring.
    func request(_ text: String) throws -> String {
        _ = StreamSocket.writeAll(fd, Array(text.utf8))  // the server may close on an over-long line
        var reply: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while let byte = try? StreamSocket.read(fd, upTo: 1, deadline: deadline).first {
            reply.append(byte)
            if byte == 10 { break }
            if case .complete = SocketmapProtocol.parseNetstring(reply[...]) { break }
        }
        guard !reply.isEmpty else { throw HarnessError("no reply to \(text.prefix(60))") }
        return String(decoding: reply, as: UTF8.self)
    }
}
