import Foundation
import VigieCore
import VigieRedis
import VigieTestKit

/// A private redis-server on a unix socket in a temp dir, started for one test and
/// stopped when the test lets go of it (also when the test fails).
final class RedisFixture {
    let server: RedisInstance
    let options: RedisConnectionOptions

    /// `timeout`: 2 s unless a test is about timing (a shorter one made tests that
    /// only count fail on a loaded machine: an EVALSHA waited past 250 ms).
    init(timeout: Duration = .seconds(2)) throws {
        server = try RedisInstance()
        try server.start()
        // No backoff: the tests restart the server and expect the next call to connect.
        options = RedisConnectionOptions(endpoint: .unix(path: server.socketPath!), timeout: timeout, reconnectBackoff: .zero)
    }

    func connection() throws -> RedisConnection { try RedisConnection(options: options) }

    func store(prefix: String = "vigie:") throws -> RedisStateStore {
        try RedisStateStore(options: options, keyPrefix: prefix)
    }
}

/// A fresh directory for files a test writes (password files).
final class ScratchDirectory {
    let path: String

    init() throws { path = try TestDirectory.make(prefix: "vigie-redis-scratch-") }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Seconds `body` took, by the monotonic clock.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
