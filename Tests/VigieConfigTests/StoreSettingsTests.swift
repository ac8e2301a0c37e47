import Testing
import VigieCore
@testable import VigieConfig

/// `[store]` (issue 12): the backend switch and how to reach Redis.
@Suite struct StoreSettingsTests {
    @Test func theDefaultIsSQLite() throws {
        let store = try configuration("").store
        #expect(store == StoreSettings())
        #expect(store.backend == .sqlite)
        #expect(store.redisServer == nil)
        #expect(store.redisKeyPrefix == "vigie:")
        #expect(store.redisTimeout == .milliseconds(250))
    }

    @Test func everyKeyIsRead() throws {
        let store = try configuration("""
            [store]
            backend = "redis"
            redis_url = "unix:/run/redis/redis.sock?db=3"
            redis_password_file = "/etc/vigie/redis.password"
            redis_key_prefix = "mail1:vigie:"
            redis_timeout = "100ms"
            """).store
        #expect(store.backend == .redis)
        #expect(store.redisServer == StoreSettings.RedisServer(address: .unix(path: "/run/redis/redis.sock"), database: 3))
        #expect(store.redisPasswordFile == "/etc/vigie/redis.password")
        #expect(store.redisKeyPrefix == "mail1:vigie:")
        #expect(store.redisTimeout == .milliseconds(100))
    }

    @Test(arguments: [
        ("unix:/run/redis/redis.sock", StoreSettings.RedisServer(address: .unix(path: "/run/redis/redis.sock"))),
        ("redis://10.0.0.5:6380/2", StoreSettings.RedisServer(address: .tcp(host: "10.0.0.5", port: 6380), database: 2)),
        ("redis://redis.example.org", StoreSettings.RedisServer(address: .tcp(host: "redis.example.org", port: 6379))),
        ("redis://redis.example.org/", StoreSettings.RedisServer(address: .tcp(host: "redis.example.org", port: 6379))),
        ("redis://[2001:db8::5]:6379/1", StoreSettings.RedisServer(address: .tcp(host: "2001:db8::5", port: 6379), database: 1)),
        ("redis://[::1]", StoreSettings.RedisServer(address: .tcp(host: "::1", port: 6379))),
    ])
    func urls(url: String, expected: StoreSettings.RedisServer) throws {
        #expect(try configuration("[store]\nredis_url = \"\(url)\"").store.redisServer == expected)
    }

    @Test func aTimeoutInSecondsIsAccepted() throws {
        #expect(try configuration("[store]\nredis_timeout = \"1s\"").store.redisTimeout == .seconds(1))
    }

    /// Each bad value names the file, its line and the key.
    @Test(arguments: [
        ("backend = \"postgres\"", "store.backend", "expected \"sqlite\" or \"redis\", got \"postgres\""),
        ("backend = \"redis\"", "store.backend", "needs redis_url"),
        ("redis_url = \"localhost:6379\"", "store.redis_url", "expected \"unix:/path/to/redis.sock\""),
        ("redis_url = \"unix:redis.sock\"", "store.redis_url", "must be absolute"),
        ("redis_url = \"unix:/run/redis.sock?database=1\"", "store.redis_url", "expected db=N"),
        ("redis_url = \"unix:/\(String(repeating: "x", count: 120))\"", "store.redis_url", "longer than 107 bytes"),
        ("redis_url = \"redis://:secret@10.0.0.5\"", "store.redis_url", "redis_password_file"),
        ("redis_url = \"redis://10.0.0.5:0\"", "store.redis_url", "from 1 to 65535"),
        ("redis_url = \"redis://10.0.0.5:6379/x\"", "store.redis_url", "must be a number"),
        ("redis_url = \"redis://:6379\"", "store.redis_url", "the host is missing"),
        ("redis_url = \"redis://[::1:6379\"", "store.redis_url", "closing ']'"),
        ("redis_url = 6379", "store.redis_url", "expected a \"string\", got 6379"),
        ("redis_password_file = \"redis.password\"", "store.redis_password_file", "expected an absolute path"),
        ("redis_key_prefix = \"\"", "store.redis_key_prefix", "the prefix is empty"),
        ("redis_key_prefix = \"vigie *\"", "store.redis_key_prefix", "blank"),
        ("redis_key_prefix = \"vigie*\"", "store.redis_key_prefix", "glob character"),
        ("redis_timeout = \"250\"", "store.redis_timeout", "expected a duration such as \"250ms\""),
        ("redis_timeout = \"5ms\"", "store.redis_timeout", "from 10ms to 2000ms"),
        ("redis_timeout = \"3s\"", "store.redis_timeout", "from 10ms to 2000ms"),
        ("redis_timeout = \"1m\"", "store.redis_timeout", "from 10ms to 2000ms"),
        ("redis_port = 6379", "store.redis_port", "unknown key; expected one of: backend, redis_url"),
    ])
    func badValues(line: String, key: String, message: String) throws {
        let error = try #require(configError("# a comment\n[store]\n\(line)\n"))
        #expect(error.key == key)
        #expect(error.line == 3, "\(error)")
        #expect(error.file == inlineFile)
        #expect(error.message.contains(message), "\(error)")
        #expect(error.description.contains("\(inlineFile):3"), "\(error)")
    }

    @Test func theTimeoutMustLeaveRoomInsideTheDecisionTimeout() throws {
        let error = try #require(configError("[daemon]\ndecision_timeout = \"1s\"\n[store]\nredis_timeout = \"600ms\"\n"))
        #expect(error.key == "store.redis_timeout")
        #expect(error.line == 4)
        #expect(error.message.contains("more than half of [daemon] decision_timeout"))
        #expect(try configuration("[daemon]\ndecision_timeout = \"1s\"\n[store]\nredis_timeout = \"500ms\"\n").store.redisTimeout == .milliseconds(500))
    }

    @Test func theShippedFileStillLoadsWithSQLite() throws {
        #expect(try ConfigLoader.load(path: shippedConfig).store.backend == .sqlite)
    }
}
