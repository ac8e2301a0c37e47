// Known hostile inputs to the SRS codec and the lookup servers
// (docs/RELIABILITY.md lists them with their outcome).

import Foundation
import Logging
import Testing
@testable import SRSLookup
@testable import VigieSRS
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

@Suite("Hostile SRS and lookup inputs")
struct HostileLookupInputTests {
    /// An SRS0 recipient whose time stamp field is 5,000 characters: refused as
    /// malformed (550 5.1.3 at RCPT), before any hash is computed over it.
    @Test func anSRS0AddressWithAHugeTimestampIsMalformed() throws {
        let codec = try makeCodec()
        let address = "SRS0=PGkz=" + String(repeating: "G", count: 5_000) + "=example.com=alice@srs.example"
        guard case .refused(.malformed(let what)) = try codec.reverse(address, now: fixedNow) else {
            Issue.record("not refused as malformed"); return
        }
        #expect(what.contains("time stamp"))
        let answer = try makeTable().lookup(.access, key: Array(address.utf8))
        guard case .found(let reply) = answer else { Issue.record("access table: \(answer)"); return }
        #expect(String(decoding: reply, as: UTF8.self).hasPrefix("550 5.1.3"))
    }

    /// A 1 MB tcp_table request with no newline: the server reads at most
    /// `maximumLineLength` bytes of it, answers 500 (or the peer sees the close),
    /// and closes that connection; the next connection is served as usual.
    @Test func aMegabyteLineWithoutNewlineIsCutOff() throws {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let server = try LookupServer(address: .inet(host: "127.0.0.1", port: try LoopbackPort.free()), kind: .tcpTable,
                                      table: .forward, lookups: try makeTable(), logger: logger)
        server.start()
        let client = try LineClient(port: server.boundPort!)
        let reply = try? client.request("get " + String(repeating: "a", count: 1 << 20))
        // The 500 may be lost to the reset the close causes while the rest of the
        // megabyte is in flight; what matters is that nothing else came back.
        if let reply { #expect(reply.hasPrefix("500 "), "\(reply.prefix(80))") }
        #expect(try LineClient(port: server.boundPort!).request("get alice@example.com\n").hasPrefix("200 "))
    }
}
