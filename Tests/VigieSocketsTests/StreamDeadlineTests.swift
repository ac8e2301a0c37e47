import Foundation
import Testing
import VigieSockets
#if canImport(Glibc)
import Glibc
#endif

/// The deadline-bounded stream calls the resolver's TCP retry and the test kit use.
@Suite struct StreamDeadlineTests {
    static func address(of listener: Int32) throws -> SocketAddress {
        let port = try #require(StreamSocket.boundPort(listener))
        return try #require(SocketAddress(host: "127.0.0.1", port: port))
    }

    @Test func exactReadsAndWritesOverTCP() throws {
        let listener = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let address = try Self.address(of: listener)
        let client = try StreamSocket.connect(to: address, deadline: .now + .seconds(5))
        defer { close(client) }
        #expect(fcntl(client, F_GETFD) & FD_CLOEXEC != 0)
        let server = try #require(StreamSocket.accept(listener))
        defer { close(server) }
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
        // Larger than the socket buffers: the writer must wait for the reader, so the
        // two take turns from two threads.
        let writer = Thread { try? StreamSocket.write(server, big + [7, 7], deadline: .now + .seconds(10)) }
        writer.start()
        #expect(try StreamSocket.read(client, exactly: big.count, deadline: .now + .seconds(10)) == big)
        #expect(try StreamSocket.read(client, exactly: 2, deadline: .now + .seconds(10)) == [7, 7])
        close(server)
        // The peer closed: fewer bytes than asked, not an error and not a wait.
        #expect(try StreamSocket.read(client, exactly: 4, deadline: .now + .seconds(10)) == [])
    }

    @Test func aListenerThatNeverAnswersCostsTheDeadlineOnly() throws {
        // The kernel completes the handshake into the backlog; nobody accepts or writes.
        let listener = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let address = try Self.address(of: listener)
        let client = try StreamSocket.connect(to: address, deadline: .now + .seconds(5))
        defer { close(client) }
        try StreamSocket.write(client, [0, 5, 1, 2, 3, 4, 5], deadline: .now + .seconds(5))
        do {
            _ = try StreamSocket.read(client, exactly: 2, deadline: .now + .milliseconds(150))
            Issue.record("bytes from a listener that sends none")
        } catch {
            #expect(error.timedOut, "\(error)")
            #expect("\(error)".contains("127.0.0.1:\(address.port)"), "the failure names the peer: \(error)")
        }
    }

    @Test func aDeadlineAlreadyPastFailsWithoutWaiting() throws {
        let listener = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let address = try Self.address(of: listener)
        let client = try StreamSocket.connect(to: address, deadline: .now + .seconds(5))
        defer { close(client) }
        #expect(throws: SocketFailure.self) { try StreamSocket.write(client, [1], deadline: .now - .seconds(1)) }
    }

    @Test func aClosedPortIsRefusedAtConnect() throws {
        let listener = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        let port = try #require(StreamSocket.boundPort(listener))
        close(listener)
        let address = try #require(SocketAddress(host: "127.0.0.1", port: port))
        do {
            _ = try StreamSocket.connect(to: address, deadline: .now + .seconds(5))
            Issue.record("connected to a closed port")
        } catch {
            #expect(error.code == ECONNREFUSED, "\(error)")
        }
    }

    @Test func writingToAPeerThatLeftFailsWithoutSIGPIPE() throws {
        let listener = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let address = try Self.address(of: listener)
        let client = try StreamSocket.connect(to: address, deadline: .now + .seconds(5))
        defer { close(client) }
        close(try #require(StreamSocket.accept(listener)))
        let chunk = [UInt8](repeating: 0x61, count: 1 << 16)
        var failure: SocketFailure?
        for _ in 0..<64 where failure == nil {
            do { try StreamSocket.write(client, chunk, deadline: .now + .seconds(5)) } catch { failure = error }
        }
        #expect(failure.map { $0.code == EPIPE || $0.code == ECONNRESET } == true, "\(String(describing: failure))")
    }

    @Test func anOverLongUnixPathIsRefusedAtConnectToo() {
        let long = "/tmp/" + String(repeating: "y", count: 120)
        do {
            _ = try StreamSocket.connect(to: .unix(path: long))
            Issue.record("connected to a cut path")
        } catch {
            #expect(error.code == ENAMETOOLONG, "\(error)")
        }
    }
}
