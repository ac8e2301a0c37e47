import Synchronization
import VigieCore

/// Counting on Redis (issue 12 item 2): every host sees one total per account, and
/// the decision to count a message is taken where the counts are, atomically.
///
/// `SendPolicy` asks it through VigieCore's `SharedCounting`
/// (`RedisSharedCounters+SharedCounting.swift`) at RCPT and at end of message, and
/// falls back to its own counters when a call fails.
///
/// One call, one round trip: a Lua script (`RedisSharedCounters+Scripts.swift`)
/// reads the server's clock, advances the account's windows, decides and, for a
/// commit, counts. Nothing is counted for refused mail. The account's key expires
/// twice the longest window after its last count.
public final class RedisSharedCounters: Sendable {
    /// One sliding window the scripts keep for every account.
    public struct Window: Sendable, Equatable {
        public enum Role: String, Sendable {
            /// Over it, the message is refused (`[limits]`).
            case limit
            /// Over it, the account is locked and the message let in as evidence (`[burst]`).
            case burst
        }
        /// The field name in the hash: `messages/minute`, `burst/recipients`.
        public var name: String
        public var length: Duration
        /// nil: counted, never refusing (unlimited).
        public var limit: Int?
        public var metric: LimitMetric
        public var role: Role

        public init(name: String, length: Duration, limit: Int?, metric: LimitMetric, role: Role) {
            self.name = name
            self.length = length
            self.limit = limit
            self.metric = metric
            self.role = role
        }
    }

    /// What the script decided, and the counts it decided on (for the notice's
    /// "you can send again at", which `SlidingWindowCount.earliestFit` computes).
    public struct Outcome: Sendable, Equatable {
        public enum Verdict: String, Sendable {
            case accept, refuse, burst
        }
        public var verdict: Verdict
        /// The server's clock when it decided.
        public var now: UnixTime
        public var refusalsInARow: Int
        /// Each window after the decision (a commit's counts included), by name.
        public var windows: [String: SlidingWindowCount]
        /// The windows the message did not fit in.
        public var overflowing: Set<String>
    }

    /// Where the server is, for messages.
    public let server: String
    let keys: RedisKeys
    /// The most one call waits, for a connection and on the server together.
    let timeout: Duration
    /// A few connections, taken in turn: one would make 64 concurrent decisions
    /// queue behind each other's round trips.
    private let connections: [Pooled]

    /// One connection of the pool; a class because a `Mutex` cannot be copied into an array.
    private final class Pooled: Sendable {
        let connection: Mutex<RedisConnection>
        init(options: RedisConnectionOptions) throws(RedisError) { connection = Mutex(try RedisConnection(options: options)) }
    }
    private let nextConnection = Atomic<Int>(0)

    public init(options: RedisConnectionOptions, keyPrefix: String = "vigie:", connections count: Int = 1) throws(RedisError) {
        server = "redis \(options.endpoint)"
        keys = RedisKeys(prefix: keyPrefix)
        timeout = options.timeout
        do throws(RedisError) {
            var connections: [Pooled] = []
            for _ in 0..<max(1, count) { connections.append(try Pooled(options: options)) }
            self.connections = connections
        } catch {
            var error = error
            error.context = "cannot connect to \(server)"
            throw error
        }
    }

    /// RCPT: would a message with `recipients` recipients fit? Counts nothing, except
    /// a refusal when `countRefusal` (the message's first refused RCPT) towards
    /// `refusalThreshold` refusals in a row, which is then a burst.
    public func check(account: AccountName, recipients: Int, windows: [Window], refusalThreshold: Int?,
                      countRefusal: Bool) throws -> Outcome {
        try run(Self.checkScript, account: account, recipients: recipients, windows: windows,
                refusalThreshold: refusalThreshold, extra: [Array((countRefusal ? "1" : "0").utf8)],
                doing: "cannot check the counts of \(account)")
    }

    /// End of message: decides again and counts the message in every window if it is
    /// accepted. A refusal counts towards refusals in a row when `countRefusal` (the
    /// RCPT stage did not count this message's refusal already).
    public func commit(account: AccountName, recipients: Int, windows: [Window], countRefusal: Bool = true) throws -> Outcome {
        try run(Self.commitScript, account: account, recipients: recipients, windows: windows,
                refusalThreshold: nil, extra: [Array((countRefusal ? "1" : "0").utf8)],
                doing: "cannot count the message of \(account)")
    }

    /// Adds `messages` messages with `recipients` recipients in all to every window,
    /// whatever the limits: what a host counted alone while this server was away.
    public func add(account: AccountName, messages: Int, recipients: Int, windows: [Window]) throws {
        guard messages >= 0 else { throw RedisError(.configuration, "cannot add \(messages) messages") }
        _ = try run(Self.addScript, account: account, recipients: recipients, windows: windows,
                    refusalThreshold: nil, extra: [text(messages)], doing: "cannot add the counts of \(account)")
    }

    /// Forgets the account's shared windows and refusals (an admin's unlock or reset).
    public func forget(account: AccountName) throws {
        let started = ContinuousClock.now
        let key = keys.count(account.value)
        try explained("cannot forget the counts of \(account)") { () throws(RedisError) in
            try pooled.connection.withLock { redis throws(RedisError) in
                let left = try budgetLeft(since: started)
                _ = try redis.withTimeout(left) { redis throws(RedisError) in try redis.command([Array("DEL".utf8), key]) }
            }
        }
    }

    /// PING: whether the server answers now.
    public func ping() throws {
        let started = ContinuousClock.now
        try explained("cannot reach") { () throws(RedisError) in
            let reply = try pooled.connection.withLock { redis throws(RedisError) -> RedisReply in
                let left = try budgetLeft(since: started)
                return try redis.withTimeout(left) { redis throws(RedisError) in try redis.command("PING") }
            }
            guard reply.text == "PONG" else { throw RedisError(.protocol, "PING answered \(reply)") }
        }
    }

    private func run(_ script: RedisScript, account: AccountName, recipients: Int, windows: [Window],
                     refusalThreshold: Int?, extra: [[UInt8]], doing: String) throws -> Outcome {
        try Self.validate(windows, recipients: recipients)
        var arguments: [[UInt8]] = [text(recipients), text(refusalThreshold ?? -1), text(windows.count)]
        for window in windows {
            arguments += [Array(window.name.utf8), text(Int(window.length.milliseconds)), text(window.limit ?? -1),
                          Array(window.metric.rawValue.utf8), Array(window.role.rawValue.utf8)]
        }
        arguments += extra
        let started = ContinuousClock.now
        return try explained(doing) { () throws(RedisError) in
            let reply = try pooled.connection.withLock { redis throws(RedisError) -> RedisReply in
                let left = try budgetLeft(since: started)
                return try redis.withTimeout(left) { redis throws(RedisError) in
                    try redis.evaluate(script, keys: [keys.count(account.value)], arguments: arguments)
                }
            }
            return try Self.outcome(from: reply)
        }
    }

    /// The next connection of the pool.
    private var pooled: Pooled {
        connections[nextConnection.wrappingAdd(1, ordering: .relaxed).oldValue % connections.count]
    }

    /// What is left of one call's budget, `timeout`, which counts the wait for the
    /// connection too: when the server hangs, the callers queued behind one that
    /// waits are not each given a full timeout of their own after it.
    private func budgetLeft(since started: ContinuousClock.Instant) throws(RedisError) -> Duration {
        let left = timeout - (ContinuousClock.now - started)
        guard left > .milliseconds(1) else {
            throw RedisError(.timeout, "waited \(timeout.milliseconds) ms for a connection, each busy with a call that did not return",
                             remedy: "is redis-server overloaded or stopped (SIGSTOP)?")
        }
        return left
    }

    /// Words any Redis error of `body` in terms of what was being done.
    private func explained<Result>(_ doing: String, _ body: () throws(RedisError) -> Result) throws(RedisError) -> Result {
        do throws(RedisError) {
            return try body()
        } catch {
            var error = error
            error.context = "\(doing) in \(server)"
            throw error
        }
    }

    /// Bad windows are a programming error of the caller, refused before anything is sent.
    private static func validate(_ windows: [Window], recipients: Int) throws(RedisError) {
        guard !windows.isEmpty else { throw RedisError(.configuration, "no windows to count in") }
        guard recipients >= 0 else { throw RedisError(.configuration, "a message cannot have \(recipients) recipients") }
        var names = Set<String>()
        for window in windows {
            guard window.length >= .milliseconds(1000) else {
                throw RedisError(.configuration, "window \(window.name) is \(window.length.milliseconds) ms long; at least 1 s")
            }
            guard !window.name.isEmpty, !window.name.contains(":"), names.insert(window.name).inserted else {
                throw RedisError(.configuration, "window names must be unique, non-empty and without ':' (\"\(window.name)\")")
            }
            if let limit = window.limit, limit < 0 {
                throw RedisError(.configuration, "window \(window.name) has limit \(limit); a limit is at least 0")
            }
        }
    }

    private static func outcome(from reply: RedisReply) throws(RedisError) -> Outcome {
        guard let parts = reply.elements, parts.count >= 4, let verdictText = parts[0].text,
              let verdict = Outcome.Verdict(rawValue: verdictText), let now = parts[1].integer,
              let refusals = parts[2].integer else {
            throw RedisError(.protocol, "the counting script answered \(reply)")
        }
        var windows: [String: SlidingWindowCount] = [:]
        var overflowing = Set<String>()
        for part in parts.dropFirst(4) {
            guard let fields = part.elements, fields.count == 5, let name = fields[0].text, let start = fields[1].integer,
                  let previous = fields[2].integer, let current = fields[3].integer, let fits = fields[4].integer else {
                throw RedisError(.protocol, "the counting script answered \(reply)")
            }
            windows[name] = SlidingWindowCount(windowStart: start, previous: UInt32(clamping: previous), current: UInt32(clamping: current))
            if fits == 0 { overflowing.insert(name) }
        }
        return Outcome(verdict: verdict, now: UnixTime(milliseconds: now), refusalsInARow: Int(refusals),
                       windows: windows, overflowing: overflowing)
    }
}

private func text(_ value: Int) -> [UInt8] { Array(String(value).utf8) }
