internal import CHiredis
import VigieCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking connection to a Redis server. Owns hiredis's `redisContext` and
/// frees it in `deinit`.
///
/// Not `Sendable`: a connection is used by one thread at a time (`RedisStateStore`
/// keeps it behind a mutex).
///
/// Time budget: each public call (`command`, `pipeline`, `evaluate`) gets
/// `options.timeout` in all, whatever it takes: connecting again, AUTH, SELECT,
/// SCRIPT LOAD, the command and its reply. Before each step the socket's timeouts
/// are set to what is left (hiredis's `redisSetTimeout`, SO_RCVTIMEO/SO_SNDTIMEO),
/// and a step with nothing left is a timeout. So a decision waits on Redis at most
/// about one timeout per call, not one per step. Bulk calls (a flush, the load at
/// start) ask for a longer budget with `withTimeout`.
///
/// Reconnecting: a connection that failed (timeout, reset, protocol error) is
/// dropped at once, never reused: after a timeout the late reply would otherwise be
/// read as the answer to the next command. The next call connects again (AUTH,
/// SELECT), unless the last connect failed less than `options.reconnectBackoff` ago.
/// A connection the server closed while idle (a restart, `timeout` in redis.conf)
/// is noticed before the command is sent (the socket polls readable) and replaced,
/// so that command is not lost. A command that fails mid-flight is never sent
/// again here: whether it ran is unknown, and only the caller knows whether it is
/// safe to repeat.
///
/// Security: arguments travel as RESP bulk strings with explicit lengths
/// (`RedisArguments`, handed to `redisAppendFormattedCommand`), never through a
/// format string, so account names and reasons are data whatever bytes they hold.
/// The password is not kept in any error or description.
public final class RedisConnection {
    public let options: RedisConnectionOptions
    private var context: UnsafeMutablePointer<redisContext>?
    /// When the last connect failed, for the backoff.
    private var lastFailedConnect: ContinuousClock.Instant?
    /// SHA1 of each script the server has loaded, by name (with its source, compared
    /// before use: hashing a 3 KB source at every call cost more than the call's
    /// other work). Kept across reconnects: the hash does not depend on the server,
    /// and NOSCRIPT reloads it.
    private var scriptHashes: [String: (source: String, hash: String)] = [:]
    /// Set by `subscribe`: the server pushes messages, so a readable socket no
    /// longer means it closed.
    private var subscribed = false
    /// When the current public call must be done by (nil between calls).
    private var deadline: ContinuousClock.Instant?
    /// The send and receive timeouts last set on the socket by `applyRemainingTime`
    /// (nil: not known, set at the next step).
    private var socketTimeout: Duration?

    /// Connects now, so that a wrong address or password is an error at start;
    /// with `connectNow` false, at the first call (a pool's spare connection).
    public init(options: RedisConnectionOptions, connectNow: Bool = true) throws(RedisError) {
        self.options = options
        if connectNow { try withinBudget { () throws(RedisError) in try connect() } }
    }

    deinit {
        if let context { redisFree(context) }
    }

    /// Whether a connection is open (it may still be found broken by the next command).
    public var isConnected: Bool { context != nil }

    // MARK: Commands

    /// Runs one command and returns its reply. An error reply is thrown as kind
    /// `.server` with the server's text. The corresponding C functions are
    /// `redisAppendFormattedCommand` and `redisGetReply`.
    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try withinBudget { () throws(RedisError) -> RedisReply in try send(arguments) }
    }

    /// Runs one command laid out already (`RedisArguments`): the counting scripts'
    /// way, without an array per argument.
    @discardableResult
    public func command(_ arguments: RedisArguments) throws(RedisError) -> RedisReply {
        try withinBudget { () throws(RedisError) -> RedisReply in try send(arguments) }
    }

    private func send(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try send(RedisArguments(arguments), named: Self.name(of: arguments))
    }

    private func send(_ arguments: RedisArguments, after head: RedisArguments? = nil,
                      named name: String = "a command") throws(RedisError) -> RedisReply {
        let context = try usableContext()
        try applyRemainingTime(to: context, doing: name)
        try append(head.map { arguments.command(after: [$0]) } ?? arguments.command(), to: context, doing: name)
        // errno is read at once: it tells a timeout (EAGAIN) from a reset, and any
        // later call (a free) may change it.
        var raw: UnsafeMutableRawPointer?
        let status = redisGetReply(context, &raw)
        let code = errno
        guard status == REDIS_OK, let raw else { throw failure(of: context, errno: code, doing: name) }
        let reply = Self.reply(from: raw.assumingMemoryBound(to: redisReply.self))
        freeReplyObject(raw)
        if case .error(let text) = reply { throw RedisError(.server, text) }
        return reply
    }

    /// Queues one command's RESP in hiredis's output buffer (sent by the next
    /// `redisGetReply`). The corresponding C function is `redisAppendFormattedCommand`.
    private func append(_ wire: [UInt8], to context: UnsafeMutablePointer<redisContext>, doing name: String) throws(RedisError) {
        let (status, code) = wire.withUnsafeBytes { bytes in
            (redisAppendFormattedCommand(context, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count), errno)
        }
        guard status == REDIS_OK else { throw failure(of: context, errno: code, doing: name) }
    }

    /// `command` with text arguments.
    @discardableResult
    public func command(_ arguments: String...) throws(RedisError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    /// Sends every command, then reads every reply: one round trip for the lot
    /// (MULTI ... EXEC of a flush). Error replies are returned in place, not thrown.
    /// The corresponding C functions are `redisAppendFormattedCommand` and `redisGetReply`.
    public func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        try pipeline(commands.map(RedisArguments.init))
    }

    /// `pipeline` with the commands laid out already.
    public func pipeline(_ commands: [RedisArguments]) throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        return try withinBudget { () throws(RedisError) -> [RedisReply] in try sendPipeline(commands) }
    }

    private func sendPipeline(_ commands: [RedisArguments]) throws(RedisError) -> [RedisReply] {
        let context = try usableContext()
        try applyRemainingTime(to: context, doing: "a pipeline")
        for arguments in commands {
            try append(arguments.command(), to: context, doing: "a pipeline")
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            let status = redisGetReply(context, &raw)
            let code = errno
            guard status == REDIS_OK, let raw else {
                throw failure(of: context, errno: code, doing: "a pipeline of \(commands.count) commands")
            }
            replies.append(Self.reply(from: raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Runs a Lua script by its hash (EVALSHA), loading it first (SCRIPT LOAD) the
    /// first time and again whenever the server answers NOSCRIPT (restarted, or
    /// SCRIPT FLUSH): the script body crosses the network once per server, not per call.
    public func evaluate(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try evaluate(script, keys: keys, arguments: RedisArguments(arguments))
    }

    /// `evaluate` with the arguments laid out already (the counting scripts' way).
    public func evaluate(_ script: RedisScript, keys: [[UInt8]], arguments: RedisArguments) throws(RedisError) -> RedisReply {
        try withinBudget { () throws(RedisError) -> RedisReply in try run(script, keys: keys, arguments: arguments) }
    }

    private func run(_ script: RedisScript, keys: [[UInt8]], arguments: RedisArguments) throws(RedisError) -> RedisReply {
        var reloaded = false
        while true {
            let hash: String
            if let known = scriptHashes[script.name], known.source == script.source {
                hash = known.hash
            } else {
                hash = try load(script)
            }
            var head = RedisArguments(capacity: 64 + keys.reduce(0) { $0 + $1.count + 16 })
            head.append("EVALSHA")
            head.append(hash)
            head.append(keys.count)
            for key in keys { head.append(key) }
            do {
                return try send(arguments, after: head, named: "EVALSHA")
            } catch where error.kind == .server && error.message.hasPrefix("NOSCRIPT") && !reloaded {
                // NOSCRIPT means the script did not run: loading and calling again is safe.
                scriptHashes[script.name] = nil
                reloaded = true
            } catch {
                var named = error
                if named.kind == .server { named.message = "script \(script.name): \(named.message)" }
                throw named
            }
        }
    }

    /// Runs `body` (calls on this connection) with `timeout` as the budget of the
    /// whole, instead of `options.timeout` per call: for a flush of 100k accounts or
    /// the load at start, not for anything a decision waits on.
    public func withTimeout<Result>(_ timeout: Duration, _ body: (RedisConnection) throws(RedisError) -> Result) throws(RedisError) -> Result {
        let outer = deadline
        deadline = .now + timeout
        defer { deadline = outer }
        return try body(self)
    }

    /// Runs a public call within its budget: a new one unless a caller (a script
    /// load inside `evaluate`, AUTH inside a reconnect, `withTimeout`) set one.
    private func withinBudget<Result>(_ body: () throws(RedisError) -> Result) throws(RedisError) -> Result {
        if deadline != nil { return try body() }
        deadline = .now + options.timeout
        defer { deadline = nil }
        return try body()
    }

    /// What is left of the budget; a timeout error when nothing is.
    private func remainingTime(doing: String) throws(RedisError) -> Duration {
        let left = (deadline ?? .now + options.timeout) - .now
        guard left > .milliseconds(1) else {
            throw RedisError(.timeout, "no time left within \(options.timeout.milliseconds) ms to \(doing) on \(options.endpoint)",
                             remedy: "is redis-server overloaded or swapping?")
        }
        return left
    }

    /// Sets the socket's send and receive timeouts to what is left of the budget.
    private func applyRemainingTime(to context: UnsafeMutablePointer<redisContext>, doing: String) throws(RedisError) {
        let left = try remainingTime(doing: doing)
        // A socket timeout within 10 ms of what is left is kept: every call starts
        // with nearly the whole budget, and setting the same value again was two
        // setsockopt calls per command, 4 of the 12 system calls the Redis store
        // added to a message (strace -c of the daemon over benchmarks/run --redis).
        // So a call may end up to 10 ms off its budget, either way.
        if let applied = socketTimeout, abs((applied - left).milliseconds) < 10 { return }
        guard redisSetTimeout(context, Self.timeValue(left)) == REDIS_OK else {
            socketTimeout = nil
            throw failure(of: context, errno: errno, doing: "set the timeout")
        }
        socketTimeout = left
    }

    private func load(_ script: RedisScript) throws(RedisError) -> String {
        let reply = try command("SCRIPT", "LOAD", script.source)
        guard let hash = reply.text, hash.utf8.count == 40 else {
            throw RedisError(.protocol, "SCRIPT LOAD of \(script.name) answered \(reply), not a SHA1")
        }
        scriptHashes[script.name] = (script.source, hash)
        return hash
    }

    // MARK: Pub/sub

    /// Subscribes to `channels` (SUBSCRIBE) and reads the confirmations. From then on
    /// the connection only receives: use `nextMessage`, not `command`. A new
    /// connection (after a failure) is not subscribed again here: the caller
    /// (`RedisLockSubscriber`) does it, since it must also catch up on what it missed.
    public func subscribe(_ channels: [[UInt8]]) throws(RedisError) {
        subscribed = false
        let replies = try pipeline([[Array("SUBSCRIBE".utf8)] + channels])
        for reply in replies {
            if case .error(let text) = reply { throw RedisError(.server, text) }
        }
        // One confirmation per channel; the pipeline read the first.
        for _ in 1..<max(channels.count, 1) {
            guard try nextMessage(timeout: options.timeout) != nil else {
                throw RedisError(.timeout, "no SUBSCRIBE confirmation from \(options.endpoint) within \(options.timeout.milliseconds) ms")
            }
        }
        subscribed = true
    }

    /// The next message pushed on a subscribed connection (`["message", channel,
    /// payload]`), or nil when none came within `timeout`: waiting is not a failure
    /// here, so the connection is kept. The corresponding C functions are
    /// `redisReaderGetReply` (a message hiredis already buffered) and `redisGetReply`.
    public func nextMessage(timeout: Duration) throws(RedisError) -> RedisReply? {
        guard let context, context.pointee.err == 0 else {
            disconnect()
            throw RedisError(.connection, "the subscription to \(options.endpoint) was lost")
        }
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(context.pointee.reader, &raw) == REDIS_OK else {
            throw failure(of: context, errno: 0, doing: "read a pushed message")
        }
        if raw == nil {
            var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(clamping: max(timeout.milliseconds, 0)))
            if ready == 0 { return nil }
            if ready < 0 {
                if errno == EINTR { return nil }
                disconnect()
                throw RedisError(.connection, "poll on the subscription to \(options.endpoint) failed (errno \(errno))")
            }
            // The last call may have left the socket a short remaining time.
            _ = redisSetTimeout(context, Self.timeValue(options.timeout))
            socketTimeout = nil
            let status = redisGetReply(context, &raw)
            let code = errno
            guard status == REDIS_OK, raw != nil else {
                throw failure(of: context, errno: code, doing: "read a pushed message")
            }
        }
        guard let raw else { return nil }
        let reply = Self.reply(from: raw.assumingMemoryBound(to: redisReply.self))
        freeReplyObject(raw)
        return reply
    }

    // MARK: Connecting

    /// The open context, after replacing a broken or server-closed one.
    private func usableContext() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if subscribed {
            throw RedisError(.protocol, "this connection is subscribed: it can only receive (nextMessage)")
        }
        if let context, context.pointee.err == 0, !Self.peerHasClosed(context) {
            return context
        }
        disconnect()
        if let lastFailedConnect, ContinuousClock.now < lastFailedConnect + options.reconnectBackoff {
            throw RedisError(.connection, "not connected: the last attempt failed less than \(options.reconnectBackoff) ago",
                             remedy: "is redis-server running at \(options.endpoint)?")
        }
        try connect()
        guard let context else { throw RedisError(.connection, "not connected") }
        return context
    }

    /// Connects, logs in and selects the database. On failure the connection stays
    /// closed and the time is noted for the backoff.
    private func connect() throws(RedisError) {
        do throws(RedisError) {
            try openContext()
            try logIn()
            lastFailedConnect = nil
        } catch {
            disconnect()
            lastFailedConnect = .now
            throw error
        }
    }

    private func logIn() throws(RedisError) {
        if let password = options.password {
            do throws(RedisError) {
                try command([Array("AUTH".utf8), Array(password.utf8)])
            } catch where error.kind == .server {
                throw RedisError(.authentication, "AUTH refused (\(error.message))",
                                 remedy: "check redis_password_file against requirepass in redis.conf")
            }
        }
        if options.database != 0 {
            do throws(RedisError) {
                try command("SELECT", String(options.database))
            } catch where error.kind == .server {
                throw RedisError(.authentication, "SELECT \(options.database) refused (\(error.message))",
                                 remedy: "use a database number below redis.conf's `databases`")
            }
        }
    }

    private func openContext() throws(RedisError) {
        let timeout = Self.timeValue(try remainingTime(doing: "connect"))
        let opened: UnsafeMutablePointer<redisContext>?
        switch options.endpoint {
        case .unix(let path): opened = redisConnectUnixWithTimeout(path, timeout)
        case .tcp(let host, let port): opened = redisConnectWithTimeout(host, Int32(clamping: port), timeout)
        }
        guard let opened else { throw RedisError(.connection, "cannot allocate a hiredis context") }
        if opened.pointee.err != 0 {
            let savedErrno = errno
            let failure = self.error(of: opened, errno: savedErrno, doing: "connect")
            redisFree(opened)
            throw failure
        }
        guard redisSetTimeout(opened, timeout) == REDIS_OK else {
            let failure = self.error(of: opened, errno: errno, doing: "set the timeout")
            redisFree(opened)
            throw failure
        }
        context = opened
        socketTimeout = nil  // connect's own timeout, not a budget's
    }

    private func disconnect() {
        if let context { redisFree(context) }
        context = nil
        subscribed = false
        socketTimeout = nil
    }

    /// The error for a command that got no reply; the context is dropped.
    private func failure(of context: UnsafeMutablePointer<redisContext>, errno code: Int32, doing: String) -> RedisError {
        let failure = self.error(of: context, errno: code, doing: doing)
        disconnect()
        return failure
    }

    /// Reads hiredis's `err`/`errstr` (and errno, which tells a timeout from a reset:
    /// hiredis reports both as REDIS_ERR_IO).
    private func error(of context: UnsafeMutablePointer<redisContext>, errno code: Int32, doing: String) -> RedisError {
        let text = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        switch context.pointee.err {
        case REDIS_ERR_IO where code == EAGAIN || code == EWOULDBLOCK || code == ETIMEDOUT || code == EINPROGRESS:
            return RedisError(.timeout, "\(options.endpoint) did not answer \(doing) within \(options.timeout.milliseconds) ms",
                              remedy: "is redis-server stopped, overloaded or swapping, or the network path down?")
        case REDIS_ERR_PROTOCOL:
            return RedisError(.protocol, "\(doing) to \(options.endpoint): the reply is not RESP (\(text))",
                              remedy: "is that address really a Redis server?")
        case REDIS_ERR_EOF:
            return RedisError(.connection, "\(doing) to \(options.endpoint): the server closed the connection")
        default:
            return RedisError(.connection, "\(doing) to \(options.endpoint): \(text)",
                              remedy: "is redis-server running and listening there?")
        }
    }

    /// True when the server has closed (or written to) a connection on which no
    /// reply is awaited: RESP2 sends nothing unasked outside pub/sub, so readable
    /// means closed, and a command sent now would be lost.
    private static func peerHasClosed(_ context: UnsafeMutablePointer<redisContext>) -> Bool {
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    // MARK: C conversions

    private static func timeValue(_ duration: Duration) -> timeval {
        let microseconds = max(duration.milliseconds, 1) * 1000
        return timeval(tv_sec: .init(microseconds / 1_000_000), tv_usec: .init(microseconds % 1_000_000))
    }

    private static func reply(from raw: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = raw.pointee
        func bytes() -> [UInt8] {
            guard let str = reply.str, reply.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: Int(reply.len)))
        }
        switch reply.type {
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(reply.integer)
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(Int(reply.elements))
            for index in 0..<Int(reply.elements) {
                if let element = reply.element[index] { elements.append(Self.reply(from: element)) }
            }
            return .array(elements)
        default: return .nil  // REDIS_REPLY_NIL
        }
    }

    private static func name(of arguments: [[UInt8]]) -> String {
        arguments.first.map { String(decoding: $0, as: UTF8.self) } ?? "a command"
    }
}
