import Foundation
import VigieSockets
import Logging
import Testing
@testable import SRSLookup
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Idle connections must not lock Postfix out of the lookup services: a lookup that
/// fails there defers or mis-routes forwarded mail.
@Suite("Lookup server connections", .serialized)
struct LookupConnectionTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    @Test("300 idle connections on the forward port, then a normal lookup succeeds")
    func idleConnectionsDoNotStarveANewClient() throws {
        let server = try LookupServer(address: .inet(host: "127.0.0.1", port: try LoopbackPort.free()), kind: .tcpTable,
                                      table: .forward, lookups: try makeTable(), logger: logger)
        server.start()
        let port = try #require(server.boundPort)
        var idle: [LineClient] = []
        for _ in 0..<300 { idle.append(try LineClient(port: port)) }
        // Every idle one was accepted (or evicted) before the lookup connects: the
        // server's count covers them all.
        try Wait.until("the server saw 300 connections", timeout: 20) { server.acceptedConnections >= 300 }

        let lookup = try LineClient(port: port)
        #expect(try lookup.request("get alice@example.com\n") == "200 SRS0=PGkz=G3=example.com=alice@srs.example\n")
        #expect(server.openConnections <= LookupServer.Limits().maximumConnections)
        withExtendedLifetime(idle) {}
    }

    @Test("a connection that sends no full request is closed after the request timeout; a served one stays")
    func partialRequestsTimeOut() throws {
        let limits = LookupServer.Limits(maximumConnections: 16, requestTimeout: .milliseconds(300), idleTimeout: .seconds(600))
        let server = try LookupServer(address: .inet(host: "127.0.0.1", port: try LoopbackPort.free()), kind: .tcpTable,
                                      table: .forward, lookups: try makeTable(), logger: logger, limits: limits)
        server.start()
        let port = try #require(server.boundPort)
        let served = try LineClient(port: port)
        #expect(try served.request("get alice@example.com\n").hasPrefix("200 "))
        let silent = try LineClient(port: port)
        let partial = try LineClient(port: port)
        #expect(StreamSocket.writeAll(partial.fd, Array("get alice@exa".utf8)))

        for client in [silent, partial] {
            // The server closes it: recv sees end of stream (the client's own timeout is 5 s).
            let received = try StreamSocket.read(client.fd, upTo: 1, deadline: .now + .seconds(5))
            #expect(received == [], "closed by the server, not by the client's timeout")
        }
        // Longer than the request timeout has passed: the connection that had
        // completed a request is still served.
        #expect(try served.request("get alice@example.com\n").hasPrefix("200 "))
    }
}
