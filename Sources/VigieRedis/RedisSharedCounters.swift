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
    /// The pool: a call takes the first connection no other call holds, opening it
    /// if it was never used, so no decision queues behind another's round trip
    /// while fewer than `connections.count` run at once (a fixed 4 made c=8 and
    /// c=64 wait for each other: 1.7 and 17.5 ms p50). Only past that many do
    /// callers wait, each on a connection taken in turn. A host with little
    /// concurrency opens few: the slots are filled from the first.
    private let connections: [Pooled]

    /// One connection of the pool; a class because a `Mutex` cannot be copied into an array.
    private final class Pooled: Sendable {
        let connection: Mutex<RedisConnection>
        init(options: RedisConnectionOptions, connectNow: Bool) throws(RedisError) {
            connection = Mutex(try RedisConnection(options: options, connectNow: connectNow))
        }
    }
    private let nextConnection = Atomic<Int>(0)
    private let windowEncodings = WindowEncodings()

    /// `connections`: the most connections concurrent decisions open (one is opened
    /// now, so that a wrong address or password fails the start; the others when
    /// that many decisions run at once).
    public init(options: RedisConnectionOptions, keyPrefix: String = "vigie:", connections count: Int = 1) throws(RedisError) {
        server = "redis \(options.endpoint)"
        keys = RedisKeys(prefix: keyPrefix)
        timeout = options.timeout
        do throws(RedisError) {
            var connections: [Pooled] = []
            for index in 0..<max(1, count) { connections.append(try Pooled(options: options, connectNow: index == 0)) }
            self.connections = connections
        } catch {
            var error = error
            error.context = "cannot connect to \(server)"
            throw error
        }
    }

    /// Runs `body` on a connection of the pool: the first free one, else (every one
    /// busy) the next in turn, waited for within the call's budget.
    private func withConnection<Result: Sendable>(
        since started: ContinuousClock.Instant,
        _ body: @Sendable (RedisConnection, Duration) throws(RedisError) -> Result
    ) throws(RedisError) -> Result {
        for pooled in connections {
            let taken = try pooled.connection.withLockIfAvailable { redis throws(RedisError) -> Result in
                try body(redis, try budgetLeft(since: started))
            }
            if let taken { return taken }
        }
        let pooled = connections[nextConnection.wrappingAdd(1, ordering: .relaxed).oldValue % connections.count]
        return try pooled.connection.withLock { redis throws(RedisError) -> Result in
            try body(redis, try budgetLeft(since: started))
        }
    }

    /// What a call decided, each window in the order it was sent: what the policy
    /// reads (`RedisSharedCounters+SharedCounting`), without a dictionary by name.
    struct Decided {
        var verdict: Outcome.Verdict
        var now: Int64
        var refusalsInARow: Int
        var counts: [SlidingWindowCount]
        var fits: [Bool]

        func outcome(names windows: [Window]) -> Outcome {
            var byName: [String: SlidingWindowCount] = [:]
            var overflowing = Set<String>()
            for (index, window) in windows.enumerated() {
                byName[window.name] = counts[index]
                if !fits[index] { overflowing.insert(window.name) }
            }
            return Outcome(verdict: verdict, now: UnixTime(milliseconds: now), refusalsInARow: refusalsInARow,
                           windows: byName, overflowing: overflowing)
        }
    }

    /// RCPT: would a message with `recipients` recipients fit? Counts nothing, except
    /// a refusal when `countRefusal` (the message's first refused RCPT) towards
    /// `refusalThreshold` refusals in a row, which is then a burst.
    public func check(account: AccountName, recipients: Int, windows: [Window], refusalThreshold: Int?,
                      countRefusal: Bool) throws -> Outcome {
        try decideCheck(account: account, recipients: recipients, windows: windows, refusalThreshold: refusalThreshold,
                        countRefusal: countRefusal).outcome(names: windows)
    }

    /// End of message: decides again and counts the message in every window if it is
    /// accepted. A refusal counts towards refusals in a row when `countRefusal` (the
    /// RCPT stage did not count this message's refusal already).
    public func commit(account: AccountName, recipients: Int, windows: [Window], countRefusal: Bool = true) throws -> Outcome {
        try decideCommit(account: account, recipients: recipients, windows: windows, countRefusal: countRefusal)
            .outcome(names: windows)
    }

    /// Adds `messages` messages with `recipients` recipients in all to every window,
    /// whatever the limits: what a host counted alone while this server was away.
    public func add(account: AccountName, messages: Int, recipients: Int, windows: [Window]) throws {
        guard messages >= 0 else { throw RedisError(.configuration, "cannot add \(messages) messages") }
        _ = try run(Self.addScript, account: account, recipients: recipients, windows: windows,
                    refusalThreshold: nil, countRefusal: false, messages: messages, doing: "cannot add the counts of \(account)")
    }

    /// The check, in two steps. First a read (TIME and one HMGET, pipelined: no
    /// script) decided here with `SlidingWindowCount`, the arithmetic the script
    /// copies: when every window fits, that is the answer, as the script would give
    /// it, since a check counts nothing. Otherwise the check script decides on the
    /// server, where a refusal is counted atomically. The read and the script answer
    /// alike for an accepted message: each is a snapshot that another host may
    /// overtake before the commit, which decides again atomically whatever the check
    /// said. The read costs the server about 5 µs, the check script about 50
    /// (benchmarks/redis-script/run.sh).
    func decideCheck(account: AccountName, recipients: Int, windows: [Window], refusalThreshold: Int?,
                     countRefusal: Bool, namesChecked: Bool = false) throws -> Decided {
        try Self.validate(windows, recipients: recipients, namesChecked: namesChecked)
        let doing = "cannot check the counts of \(account)"
        if let accepted = try read(account: account, recipients: recipients, windows: windows, doing: doing) {
            return accepted
        }
        return try run(Self.checkScript, account: account, recipients: recipients, windows: windows,
                       refusalThreshold: refusalThreshold, countRefusal: countRefusal, doing: doing, namesChecked: true)
    }

    func decideCommit(account: AccountName, recipients: Int, windows: [Window], countRefusal: Bool,
                      namesChecked: Bool = false) throws -> Decided {
        return try run(Self.commitScript, account: account, recipients: recipients, windows: windows,
                       refusalThreshold: nil, countRefusal: countRefusal, doing: "cannot count the message of \(account)",
                       namesChecked: namesChecked)
    }

    /// Forgets the account's shared windows and refusals (an admin's unlock or reset).
    public func forget(account: AccountName) throws {
        let started = ContinuousClock.now
        let key = keys.shared(account.value)
        try explained("cannot forget the counts of \(account)") { () throws(RedisError) in
            try withConnection(since: started) { redis, left throws(RedisError) in
                _ = try redis.withTimeout(left) { redis throws(RedisError) in try redis.command([Array("DEL".utf8), key]) }
            }
        }
    }

    /// PING: whether the server answers now.
    public func ping() throws {
        let started = ContinuousClock.now
        try explained("cannot reach") { () throws(RedisError) in
            let reply = try withConnection(since: started) { redis, left throws(RedisError) -> RedisReply in
                try redis.withTimeout(left) { redis throws(RedisError) in try redis.command("PING") }
            }
            guard reply.text == "PONG" else { throw RedisError(.protocol, "PING answered \(reply)") }
        }
    }

    private func run(_ script: RedisScript, account: AccountName, recipients: Int, windows: [Window],
                     refusalThreshold: Int?, countRefusal: Bool, messages: Int = 0, doing: String,
                     namesChecked: Bool = false) throws -> Decided {
        try Self.validate(windows, recipients: recipients, namesChecked: namesChecked)
        // The scripts' four leading arguments, then the windows' specification
        // (`RedisSharedCounters+Scripts.swift` says what each is).
        let encoded = windowEncodings.encoded(windows)
        var arguments = RedisArguments(capacity: encoded.spec.count + 64)
        arguments.append(recipients)
        arguments.append(refusalThreshold ?? -1)
        arguments.append(countRefusal ? 1 : 0)
        arguments.append(messages)
        arguments.append(encoded.spec)
        let key = keys.shared(account.value)
        let started = ContinuousClock.now
        return try explained(doing) { [arguments] () throws(RedisError) in
            let reply = try withConnection(since: started) { redis, left throws(RedisError) -> RedisReply in
                try redis.withTimeout(left) { redis throws(RedisError) in
                    try redis.evaluate(script, keys: [key], arguments: arguments)
                }
            }
            return try Self.decided(from: reply, windows: windows.count, layout: encoded.layout)
        }
    }

    /// The check's read: the server's clock and the account's record, decided here.
    /// nil when a window would not fit (the script then decides).
    private func read(account: AccountName, recipients: Int, windows: [Window], doing: String) throws -> Decided? {
        let layout = windowEncodings.encoded(windows).layout
        let get = RedisArguments([Self.getCommand, keys.shared(account.value)])
        let started = ContinuousClock.now
        let replies = try explained(doing) { () throws(RedisError) -> [RedisReply] in
            try withConnection(since: started) { redis, left throws(RedisError) -> [RedisReply] in
                try redis.withTimeout(left) { redis throws(RedisError) in try redis.pipeline([Self.time, get]) }
            }
        }
        guard replies.count == 2, let clock = replies[0].elements, clock.count == 2,
              let seconds = Self.integer(clock[0]), let microseconds = Self.integer(clock[1]) else {
            throw RedisError(.protocol, "TIME and GET answered \(replies)", context: "\(doing) in \(server)")
        }
        let now = seconds * 1000 + microseconds / 1000
        var record: SharedWindowsRecord
        switch replies[1] {
        case .nil:  // never counted, or expired
            record = SharedWindowsRecord(layout: layout, windows: Array(repeating: .init(windowStart: 0, previous: 0, current: 0),
                                                                       count: windows.count))
        case .bulk(let bytes):
            do throws(SharedWindowsRecord.Problem) {
                record = try SharedWindowsRecord(bytes[...], windows: windows.count, layout: layout)
            } catch {
                throw RedisError(.protocol, "the shared counts of \(account) \(error)", context: "\(doing) in \(server)")
            }
        default:
            throw RedisError(.protocol, "GET answered \(replies[1]) for the shared counts of \(account)", context: "\(doing) in \(server)")
        }
        for (index, window) in windows.enumerated() {
            let length = Int64(window.length.milliseconds)
            record.windows[index].advance(to: now, length: length)
            if let limit = window.limit,
               !record.windows[index].fits(window.metric == .messages ? 1 : recipients, under: limit, at: now, length: length) {
                return nil
            }
        }
        return Decided(verdict: .accept, now: now, refusalsInARow: Int(record.refusalsInARow),
                       counts: record.windows, fits: Array(repeating: true, count: windows.count))
    }

    private static let getCommand = Array("GET".utf8)
    private static let time = RedisArguments([Array("TIME".utf8)])

    /// A reply's integer, or a bulk string's digits read without making a `String`
    /// (HMGET's fields, TIME's parts); nil for anything else.
    private static func integer(_ reply: RedisReply) -> Int64? {
        switch reply {
        case .integer(let value): return value
        case .bulk(let bytes):
            guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
            var value: Int64 = 0
            var negative = false
            for (index, byte) in bytes.enumerated() {
                if index == 0, byte == UInt8(ascii: "-"), bytes.count > 1 { negative = true; continue }
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return negative ? -value : value
        default: return nil
        }
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

    /// Bad windows are a programming error of the caller, refused before anything is
    /// sent. Checked at every call, so in bytes: Foundation's `contains` and a `Set`
    /// of the names cost more than the round trip (58,000 instructions a call).
    /// `namesChecked`: the names are known good (the policy's fixed set, or checked
    /// by the first step of this call), so only lengths and limits are looked at.
    private static func validate(_ windows: [Window], recipients: Int, namesChecked: Bool = false) throws(RedisError) {
        guard !windows.isEmpty else { throw RedisError(.configuration, "no windows to count in") }
        // The scripts answer which windows fit as a sum of powers of two in a Lua
        // number (a double): exact for 52 windows. The policy sends 8.
        guard windows.count <= 52 else { throw RedisError(.configuration, "\(windows.count) windows; at most 52") }
        guard recipients >= 0 else { throw RedisError(.configuration, "a message cannot have \(recipients) recipients") }
        for (index, window) in windows.enumerated() {
            guard window.length >= .milliseconds(1000) else {
                throw RedisError(.configuration, "window \(window.name) is \(window.length.milliseconds) ms long; at least 1 s")
            }
            // A name identifies its window in `Outcome.windows` and in the record's layout.
            guard namesChecked || (!window.name.isEmpty && !windows[..<index].contains(where: { $0.name == window.name })) else {
                throw RedisError(.configuration, "window names must be unique and non-empty (\"\(window.name)\")")
            }
            if let limit = window.limit, limit < 0 {
                throw RedisError(.configuration, "window \(window.name) has limit \(limit); a limit is at least 0")
            }
        }
    }

    /// The scripts' reply: verdict, now, longest, the account's record, and the
    /// windows the message fits in (bit i-1 for window i).
    private static func decided(from reply: RedisReply, windows count: Int, layout: UInt32) throws(RedisError) -> Decided {
        guard let parts = reply.elements, parts.count == 5, let verdictText = parts[0].text,
              let verdict = Outcome.Verdict(rawValue: verdictText), let now = integer(parts[1]),
              case .bulk(let bytes) = parts[3], let fits = integer(parts[4]), fits >= 0,
              let record = try? SharedWindowsRecord(bytes[...], windows: count, layout: layout) else {
            throw RedisError(.protocol, "the counting script answered \(reply)")
        }
        return Decided(verdict: verdict, now: now, refusalsInARow: Int(record.refusalsInARow), counts: record.windows,
                       fits: (0..<count).map { index in fits >> index & 1 == 1 })
    }
}
