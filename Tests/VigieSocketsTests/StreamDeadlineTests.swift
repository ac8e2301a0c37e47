import Foundation
import Testing
import VigieSockets
#if canImport(Glibc)
import Glibc
#endif

/// The deadline-bounded stream calls the resolver's TCP retry and the test kit use.
@Suite struct StreamDeadlineTests {
    /// A loopback listener, and a client connected to it by the deadline-bounded
    /// connect; both closed with it.
    final class LoopbackPair {
        let listener: Int32
        let address: SocketAddress
        let client: Int32

        init() throws {
            listener = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let port = try #require(StreamSocket.boundPort(listener))
            address = try #require(SocketAddress(host: "127.0.0.1", port: port))
            client = try StreamSocket.connect(to: address, deadline: .now + .seconds(5))
        }

        deinit { close(client); close(listener) }
    }

    @Test func exactReadsAndWritesOverTCP() throws {
        let pair = try LoopbackPair()
        #expect(fcntl(pair.client, F_GETFD) & FD_CLOEXEC != 0)
        let server = try #require(StreamSocket.accept(pair.listener))
        defer { close(server) }
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
        // Larger than the socket buffers: the writer must wait for the reader, so the
        // two take turns from two threads.
        let writer = Thread { try? StreamSocket.write(server, big + [7, 7], deadline: .now + .seconds(10)) }
        writer.start()
        #expect(try StreamSocket.read(pair.client, exactly: big.count, deadline: .now + .seconds(10)) == big)
        #expect(try StreamSocket.read(pair.client, exactly: 2, deadline: .now + .seconds(10)) == [7, 7])
        shutdown(server, Int32(SHUT_WR))
        // The peer closed its side: fewer bytes than asked, not an error and not a wait.
        #expect(try StreamSocket.read(pair.client, exactly: 4, deadline: .now + .seconds(10)) == [])
    }

    @Test func aListenerThatNeverAnswersCostsTheDeadlineOnly() throws {
        // The kernel completes the handshake into the backlog; nobody accepts or writes.
        let pair = try LoopbackPair()
        try StreamSocket.write(pair.client, [0, 5, 1, 2, 3, 4, 5], deadline: .now + .seconds(5))
        do {
            _ = try StreamSocket.read(pair.client, exactly: 2, deadline: .now + .milliseconds(150))
            Issue.record("bytes from a listener that sends none")
        } catch {
            #expect(error.timedOut, "\(error)")
            #expect("\(error)".contains("127.0.0.1:\(pair.address.port)"), "the failure names the peer: \(error)")
        }
    }

    @Test func aDeadlineAlreadyPastFailsWithoutWaiting() throws {
        let pair = try LoopbackPair()
        #expect(throws: SocketFailure.self) { try StreamSocket.write(pair.client, [1], deadline: .now - .seconds(1)) }
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
        let pair = try LoopbackPair()
        close(try #require(StreamSocket.accept(pair.listener)))
        let chunk = [UInt8](repeating: 0x61, count: 1 << 16)
        var failure: SocketFailure?
        for _ in 0..<64 where failure == nil {
            do { try StreamSocket.write(pair.client, chunk, deadline: .now + .seconds(5)) } catch { failure = error }
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
