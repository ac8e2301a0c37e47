import Foundation
import Synchronization
import Testing
import VigieCore
import VigieRedis
import VigieSockets
import VigieTestKit

#if canImport(Glibc)
import Glibc
#endif

/// The connection against a real redis-server: replies, binary-safe arguments,
/// logging in, timeouts, a killed server and scripts. Serialized: the timing
/// checks should not share two cores with a dozen other servers.
@Suite(.serialized) struct RedisConnectionTests {
    @Test func repliesOfEveryKind() throws {
        let redis = try RedisFixture()
        let connection = try redis.connection()

        #expect(try connection.command("SET", "k", "v") == .status("OK"))
        #expect(try connection.command("GET", "k") == .bulk(bytes("v")))
        #expect(try connection.command("INCR", "n") == .integer(1))
        #expect(try connection.command("GET", "missing") == .nil)
        #expect(try connection.command("RPUSH", "list", "a", "b") == .integer(2))
        #expect(try connection.command("LRANGE", "list", "0", "-1") == .array([.bulk(bytes("a")), .bulk(bytes("b"))]))
        let error = try #require(throws: RedisError.self) { try connection.command("INCR", "list") }
        #expect(error.kind == .server)
        #expect(error.message.hasPrefix("WRONGTYPE"))
        // An error reply leaves the connection usable.
        #expect(try connection.command("PING") == .status("PONG"))
    }

    @Test func argumentsAreBinarySafe() throws {
        let redis = try RedisFixture()
        let connection = try redis.connection()
        // A NUL, CR LF (the protocol's separator), a format directive, and bytes that are not UTF-8.
        let value: [UInt8] = [0, 13, 10] + bytes("%s %n %d") + [0xFF, 0xFE, 0]
        let key: [UInt8] = bytes("key with spaces\r\n") + [0]
        try connection.command([bytes("SET"), key, value])
        #expect(try connection.command([bytes("GET"), key]) == .bulk(value))
        #expect(try connection.command([bytes("STRLEN"), key]) == .integer(Int64(value.count)))
        try connection.command([bytes("SET"), bytes("empty"), []])
        #expect(try connection.command("GET", "empty") == .bulk([]))
    }

    @Test func aPipelineIsOneBatchWithErrorsInPlace() throws {
        let redis = try RedisFixture()
        let connection = try redis.connection()
        let replies = try connection.pipeline([
            [bytes("SET"), bytes("a"), bytes("1")],
            [bytes("INCR"), bytes("a")],
            [bytes("HSET"), bytes("a"), bytes("f"), bytes("v")],
            [bytes("GET"), bytes("a")],
        ])
        #expect(replies.count == 4)
        #expect(replies[0] == .status("OK"))
        #expect(replies[1] == .integer(2))
        guard case .error(let text) = replies[2] else { Issue.record("expected WRONGTYPE, got \(replies[2])"); return }
        #expect(text.hasPrefix("WRONGTYPE"))
        #expect(replies[3] == .bulk(bytes("2")))
    }

    @Test func tcpWithAPasswordFromAFileAndADatabase() throws {
        let server = try RedisInstance(tcp: true, password: "s3cret-\(UUID().uuidString)")
        try server.start()
        let scratch = try ScratchDirectory()
        let passwordFile = try scratch.write("redis.password", server.password! + "\n")
        let endpoint = RedisEndpoint.tcp(host: "127.0.0.1", port: server.port!)

        let password = try RedisPasswordFile.read(path: passwordFile)
        #expect(password == server.password)
        let inThree = try RedisConnection(options: RedisConnectionOptions(endpoint: endpoint, database: 3, password: password))
        try inThree.command("SET", "where", "three")
        let inZero = try RedisConnection(options: RedisConnectionOptions(endpoint: endpoint, password: password))
        #expect(try inZero.command("GET", "where") == .nil)
        #expect(try inThree.command("GET", "where") == .bulk(bytes("three")))

        let wrong = try #require(throws: RedisError.self) {
            try RedisConnection(options: RedisConnectionOptions(endpoint: endpoint, password: "not it"))
        }
        #expect(wrong.kind == .authentication)
        #expect(!wrong.description.contains("not it"))

        // Without a password the server refuses commands; the error says so.
        let anonymous = try RedisConnection(options: RedisConnectionOptions(endpoint: endpoint))
        let refused = try #require(throws: RedisError.self) { try anonymous.command("GET", "where") }
        #expect(refused.kind == .server)
        #expect(refused.message.hasPrefix("NOAUTH"))

        let noSuchDatabase = try #require(throws: RedisError.self) {
            try RedisConnection(options: RedisConnectionOptions(endpoint: endpoint, database: 99, password: password))
        }
        #expect(noSuchDatabase.kind == .authentication)
        #expect(noSuchDatabase.message.contains("SELECT 99"))
    }

    @Test func passwordFilesThatCannotBeUsed() throws {
        let scratch = try ScratchDirectory()
        let cases: [(String, String?, String)] = [
            ("missing", nil, "cannot read the password file"),
            ("empty", "", "is empty"),
            ("newline-only", "\n", "is empty"),
            ("two-lines", "one\ntwo\n", "more than one line"),
        ]
        for (name, content, expected) in cases {
            let path = try content.map { try scratch.write(name, $0) } ?? scratch.path + "/" + name
            let error = try #require(throws: RedisError.self) { try RedisPasswordFile.read(path: path) }
            #expect(error.kind == .configuration)
            #expect(error.description.contains(path), "\(name)")
            #expect(error.description.contains(expected), "\(name): \(error)")
        }
        #expect(try RedisPasswordFile.read(path: try scratch.write("crlf", "pw\r\n")) == "pw")
    }

    @Test func noServerIsAConnectionErrorNamingTheSocket() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path + "/none.sock"
        let error = try #require(throws: RedisError.self) {
            try RedisConnection(options: RedisConnectionOptions(endpoint: .unix(path: path)))
        }
        #expect(error.kind == .connection)
        #expect(error.description.contains(path))
        #expect(error.isUnavailable)

        let port = try LoopbackPort.free()
        let refused = try #require(throws: RedisError.self) {
            try RedisConnection(options: RedisConnectionOptions(endpoint: .tcp(host: "127.0.0.1", port: port)))
        }
        #expect(refused.kind == .connection)
        #expect(refused.description.contains("Connection refused"))
    }

    @Test func aStoppedServerIsATimeoutWithinTheBound() throws {
        let redis = try RedisFixture(timeout: .milliseconds(300))
        let connection = try redis.connection()
        try connection.command("SET", "k", "v")

        redis.server.pause()
        defer { redis.server.resume() }
        var error: RedisError?
        let elapsed = try seconds {
            do { try connection.command("GET", "k") } catch let failure as RedisError { error = failure }
        }
        #expect(error?.kind == .timeout)
        #expect(error?.description.contains("300 ms") == true)
        #expect(elapsed >= 0.25, "returned after \(elapsed) s, before the timeout")
        #expect(elapsed < 1.0, "waited \(elapsed) s for a 300 ms timeout")

        // Once the server runs again, the next command gets its own reply, not the
        // late one of the command that timed out.
        redis.server.resume()
        try connection.command("SET", "k", "w")
        #expect(try connection.command("GET", "k") == .bulk(bytes("w")))
    }

    @Test func aListenerThatNeverAnswersIsATimeout() throws {
        // The kernel completes the handshake into the backlog; nothing ever reads.
        let listener = try SilentListener()
        let connection = try RedisConnection(options: RedisConnectionOptions(
            endpoint: .tcp(host: "127.0.0.1", port: listener.port), timeout: .milliseconds(200)))
        var kind: RedisError.Kind?
        let elapsed = try seconds {
            do { try connection.command("PING") } catch let failure as RedisError { kind = failure.kind }
        }
        #expect(kind == .timeout)
        #expect(elapsed >= 0.15 && elapsed < 1.0, "took \(elapsed) s")
    }

    @Test func somethingThatIsNotRedisIsAProtocolError() throws {
        // What an HTTP server on the configured port would answer.
        let listener = try SilentListener()
        let descriptor = listener.descriptor
        let answering = Thread {
            guard let client = StreamSocket.accept(descriptor) else { return }
            _ = try? StreamSocket.read(client, upTo: 512, deadline: .now + .seconds(5))
            _ = StreamSocket.writeAll(client, Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
            Thread.sleep(forTimeInterval: 0.5)
            close(client)
        }
        answering.start()
        let connection = try RedisConnection(options: RedisConnectionOptions(
            endpoint: .tcp(host: "127.0.0.1", port: listener.port), timeout: .seconds(2)))
        let error = try #require(throws: RedisError.self) { try connection.command("PING") }
        #expect(error.kind == .protocol)
        #expect(error.description.contains("not RESP"))
        #expect(!connection.isConnected)
    }

    @Test func aKilledServerIsAConnectionErrorAndTheConnectionRecovers() throws {
        let redis = try RedisFixture()
        let connection = try redis.connection()
        try connection.command("SET", "k", "before")

        redis.server.kill9()
        let error = try #require(throws: RedisError.self) { try connection.command("GET", "k") }
        #expect(error.kind == .connection)
        #expect(error.isUnavailable)

        try redis.server.start()
        // A fresh server (no persistence): the key is gone, and the connection works again.
        #expect(try connection.command("GET", "k") == .nil)
        try connection.command("SET", "k", "after")
        #expect(try connection.command("GET", "k") == .bulk(bytes("after")))
    }

    @Test func anIdleConnectionSurvivesARestartWithoutLosingACommand() throws {
        let redis = try RedisFixture()
        let connection = try redis.connection()
        try connection.command("PING")
        redis.server.kill9()
        try redis.server.start()
        // The dead socket is noticed before sending: this first command runs.
        #expect(try connection.command("INCR", "n") == .integer(1))
    }

    @Test func afterAFailedConnectCallsFailFastForTheBackoff() throws {
        let redis = try RedisFixture()
        var options = redis.options
        options.reconnectBackoff = .milliseconds(600)
        let connection = try RedisConnection(options: options)
        redis.server.kill9()
        #expect(throws: RedisError.self) { try connection.command("PING") }  // the connect fails: backoff starts
        try redis.server.start()
        let refused = try #require(throws: RedisError.self) { try connection.command("PING") }
        #expect(refused.kind == .connection)
        #expect(refused.message.contains("last attempt failed"))
        Thread.sleep(forTimeInterval: 0.7)
        #expect(try connection.command("PING") == .status("PONG"))
    }

    @Test func aScriptIsLoadedOnceAndReloadedAfterNOSCRIPT() throws {
        let redis = try RedisFixture()
        let connection = try redis.connection()
        let admin = try redis.connection()
        let script = RedisScript(name: "add", source: "return redis.call('INCRBY', KEYS[1], ARGV[1])")

        #expect(try connection.evaluate(script, keys: [bytes("n")], arguments: [bytes("2")]) == .integer(2))
        #expect(try connection.evaluate(script, keys: [bytes("n")], arguments: [bytes("3")]) == .integer(5))
        // Only SCRIPT LOAD and EVALSHA ever reached the server: no EVAL with the body.
        let stats = try admin.command("INFO", "commandstats").text ?? ""
        #expect(!stats.contains("cmdstat_eval:"))
        #expect(stats.contains("cmdstat_evalsha:calls=2"))

        try admin.command("SCRIPT", "FLUSH")
        #expect(try connection.evaluate(script, keys: [bytes("n")], arguments: [bytes("4")]) == .integer(9))
        // It ran once: reloaded, not run twice.
        #expect(try admin.command("GET", "n") == .bulk(bytes("9")))

        let broken = RedisScript(name: "broken", source: "return redis.call('NOSUCHCOMMAND')")
        let error = try #require(throws: RedisError.self) { try connection.evaluate(broken, keys: [], arguments: []) }
        #expect(error.kind == .server)
        #expect(error.message.hasPrefix("script broken:"))
    }

    @Test func aSubscribedConnectionReceivesWhatIsPublished() throws {
        let redis = try RedisFixture()
        let subscriber = try redis.connection()
        let publisher = try redis.connection()
        try subscriber.subscribe([bytes("news")])
        #expect(try subscriber.nextMessage(timeout: .milliseconds(50)) == nil)
        #expect(try publisher.command("PUBLISH", "news", "one") == .integer(1))
        #expect(try publisher.command("PUBLISH", "news", "two") == .integer(1))
        let first = try #require(try subscriber.nextMessage(timeout: .seconds(2)))
        let second = try #require(try subscriber.nextMessage(timeout: .seconds(2)))
        #expect(first == .array([.bulk(bytes("message")), .bulk(bytes("news")), .bulk(bytes("one"))]))
        #expect(second.elements?.last == .bulk(bytes("two")))
        let refused = try #require(throws: RedisError.self) { try subscriber.command("PING") }
        #expect(refused.kind == .protocol)
    }
}


/// The harness itself: without redis-server the tests fail and say what to install.
@Suite struct RedisInstanceTests {
    @Test func aMissingServerIsAFailureNamingThePackage() {
        let error = #expect(throws: HarnessError.self) { try RedisInstance(executable: "/nonexistent/redis-server") }
        #expect(error?.description.contains("install Debian's redis-server package") == true)
    }
}

/// One timeout per call, not per step: a slow server cannot stretch a call that
/// must connect, AUTH, SELECT and run a script into several timeouts.
@Suite(.serialized) struct RedisTimeBudgetTests {
    /// Keeps the server busy: DEBUG SLEEP after DEBUG SLEEP from its own connection,
    /// so each of another client's steps waits up to `pause` for its turn.
    final class SlowServer: @unchecked Sendable {
        // `running` is read by the worker thread and written by the test: an atomic.
        private let running = Atomic<Bool>(true)
        private let finished = DispatchSemaphore(value: 0)

        init(_ options: RedisConnectionOptions, pause: Double) throws {
            var slow = options
            slow.timeout = .seconds(5)
            let connection = try RedisConnection(options: slow)
            nonisolated(unsafe) let owned = connection
            Thread.detachNewThread { [self] in
                // Only this thread uses the connection.
                while running.load(ordering: .relaxed) {
                    _ = try? owned.command("DEBUG", "SLEEP", String(pause))
                }
                finished.signal()
            }
            // Let the first DEBUG SLEEP begin.
            Thread.sleep(forTimeInterval: 0.05)
        }

        func stop() {
            running.store(false, ordering: .relaxed)
            finished.wait()
        }
    }

    @Test func connectingAUTHAndSELECTShareOneTimeout() throws {
        let server = try RedisInstance(password: "pw")
        try server.start()
        let fast = RedisConnectionOptions(endpoint: .unix(path: server.socketPath!), database: 2, password: "pw",
                                          timeout: .seconds(5), reconnectBackoff: .zero)
        // Unhurried, it works: the test is about time, not about a broken setup.
        _ = try RedisConnection(options: fast)

        let slow = try SlowServer(fast, pause: 0.25)
        defer { slow.stop() }
        var options = fast
        options.timeout = .milliseconds(300)
        var worst = 0.0
        for _ in 0..<3 {
            var outcome: RedisError.Kind?
            let elapsed = try seconds {
                do { _ = try RedisConnection(options: options) } catch let failure as RedisError { outcome = failure.kind }
            }
            worst = max(worst, elapsed)
            #expect(outcome == nil || outcome == .timeout)
        }
        // AUTH and SELECT each wait up to 0.25 s for the sleeping server: at least
        // 0.5 s with a timeout per step; the budget stops the whole at 0.3 s (the
        // bound is the per-step floor, not 0.3 s and a guess at the scheduler's delay,
        // which a loaded machine exceeds).
        #expect(worst < 0.5, "took \(worst) s with a 300 ms budget per call")
    }

    @Test func aScriptLoadAndItsRunShareOneTimeout() throws {
        let redis = try RedisFixture(timeout: .milliseconds(300))
        // Connected before the server turns slow; then each call must SCRIPT LOAD and
        // EVALSHA, up to 0.25 s each.
        let connections = try (0..<3).map { _ in try redis.connection() }
        let slow = try SlowServer(redis.options, pause: 0.25)
        defer { slow.stop() }
        var worst = 0.0
        for (round, connection) in connections.enumerated() {
            let script = RedisScript(name: "round \(round)", source: "return \(round)")
            var outcome: RedisError.Kind?
            let elapsed = try seconds {
                do { _ = try connection.evaluate(script, keys: [], arguments: []) } catch let failure as RedisError { outcome = failure.kind }
            }
            worst = max(worst, elapsed)
            #expect(outcome == nil || outcome == .timeout)
        }
        // SCRIPT LOAD then EVALSHA, 0.25 s each: at least 0.5 s with a timeout per step.
        #expect(worst < 0.5, "took \(worst) s with a 300 ms budget")
    }

    @Test func aBulkCallMayAskForMore() throws {
        let redis = try RedisFixture(timeout: .milliseconds(100))
        let connection = try redis.connection()
        let slow = try SlowServer(redis.options, pause: 0.3)
        defer { slow.stop() }
        #expect(throws: RedisError.self) { try connection.command("PING") }
        let reply = try connection.withTimeout(.seconds(3)) { redis throws(RedisError) in try redis.command("PING") }
        #expect(reply == .status("PONG"))
    }
}
