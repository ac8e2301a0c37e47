import Foundation
import Testing
import VigieSockets

/// The socket rules every server and client now shares.
@Suite struct StreamSocketTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "vigie-sockets-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aLineGoesBothWaysOverAUnixSocket() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let endpoint = StreamSocket.Endpoint.unix(path: dir + "/s.sock")
        let listener = try StreamSocket.listen(on: endpoint, mode: 0o660)
        defer { close(listener) }
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/s.sock")[.posixPermissions] as? Int == 0o660)
        let client = try StreamSocket.connect(to: endpoint, timeout: .seconds(2))
        defer { close(client) }
        let server = try #require(StreamSocket.accept(listener))
        defer { close(server) }
        #expect(fcntl(server, F_GETFD) & FD_CLOEXEC != 0, "accepted sockets are close-on-exec")
        #expect(fcntl(listener, F_GETFD) & FD_CLOEXEC != 0)
        #expect(StreamSocket.writeAll(client, Array("hello\nrest".utf8)))
        #expect(StreamSocket.readLine(server) == Array("hello".utf8))
    }

    @Test func aPathLongerThanSunPathIsRefusedNotCut() throws {
        let long = "/tmp/" + String(repeating: "x", count: 200) + ".sock"
        #expect(throws: SocketFailure.self) { _ = try StreamSocket.listen(on: .unix(path: long)) }
        do { _ = try StreamSocket.listen(on: .unix(path: long)) } catch {
            #expect(error.code == ENAMETOOLONG)
            #expect("\(error)".contains("at most 107 bytes"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: String(long.prefix(107))), "nothing bound at the cut path")
    }

    @Test func aHostNameIsNotAnAddress() {
        #expect(throws: SocketFailure.self) { _ = try StreamSocket.listen(on: .tcp(host: "localhost.example", port: 0)) }
        #expect(throws: SocketFailure.self) { _ = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 70000)) }
    }

    @Test func writingToAPeerThatLeftIsFalseNotSIGPIPE() throws {
        // Without MSG_NOSIGNAL the second write would raise SIGPIPE and end this process.
        let listener = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let port = try #require(StreamSocket.boundPort(listener))
        let client = try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: port))
        let server = try #require(StreamSocket.accept(listener))
        close(client)
        defer { close(server) }
        let chunk = [UInt8](repeating: 0x61, count: 1 << 16)
        var failed = false
        for _ in 0..<64 where !failed { failed = !StreamSocket.writeAll(server, chunk) }
        #expect(failed, "writes to a closed peer must fail")
    }

    @Test func aLineOverTheLimitIsNil() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let endpoint = StreamSocket.Endpoint.unix(path: dir + "/l.sock")
        let listener = try StreamSocket.listen(on: endpoint)
        defer { close(listener) }
        let client = try StreamSocket.connect(to: endpoint)
        defer { close(client) }
        let server = try #require(StreamSocket.accept(listener))
        defer { close(server) }
        #expect(StreamSocket.writeAll(client, [UInt8](repeating: 0x62, count: 5000) + [10]))
        #expect(StreamSocket.readLine(server, limit: 1000) == nil)
    }
}
