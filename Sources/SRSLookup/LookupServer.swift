import VigieSockets
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket and a thread per connection, serving one protocol.
///
/// Postfix keeps a few long-lived connections per process (tcp_table and socketmap
/// clients reuse them), so a thread per connection is cheap and keeps each session a
/// plain blocking loop. A connection must send each whole request within
/// `Limits.requestTimeout` (30 s) of its first byte (or of the connection, for the
/// first request); between requests it may stay idle `Limits.idleTimeout` (600 s, as
/// postsrsd). At `Limits.maximumConnections` the longest-idle connection is closed to
/// make room (`LookupConnections`): refusing the new one instead let 300 idle
/// connections make every lookup fail.
///
/// Security: every input is bounded (line and netstring limits); a malformed request
/// is answered, never trusted; nothing a client sends can stop the listener.
public final class LookupServer: @unchecked Sendable {
    // @unchecked: `listener` is written once in init; `connections` is atomic.
    public enum WireProtocol: String, Sendable {
        /// tcp_table(5), serving one table on this socket (postsrsd 1.x: one port each).
        case tcpTable = "tcp_table"
        /// socketmap_table(5), every table by name on one socket (postsrsd 2.x).
        case socketmap
    }

    public let address: LookupListenAddress
    public let kind: WireProtocol
    private let table: SRSTableName
    private let lookups: SRSLookupTable
    private let logger: Logger
    private let listener: Int32
    private let connections = LookupConnections()
    private let accepted = Atomic<Int>(0)
    public let limits: Limits

    /// Bounds on connections, so that none can hold the service.
    public struct Limits: Sendable, Equatable {
        /// Connections served at once; the longest-idle one is closed beyond this.
        public var maximumConnections: Int
        /// How long a client may take to send one whole request.
        public var requestTimeout: Duration
        /// How long a connection that has been served may wait for its next request.
        public var idleTimeout: Duration

        public init(maximumConnections: Int = 256, requestTimeout: Duration = .seconds(30),
                    idleTimeout: Duration = .seconds(600)) {
            self.maximumConnections = maximumConnections
            self.requestTimeout = requestTimeout
            self.idleTimeout = idleTimeout
        }
    }

    /// Connections accepted since start (for tests and diagnostics).
    public var acceptedConnections: Int { accepted.load(ordering: .relaxed) }
    /// Connections open now, not counting those being closed to make room.
    public var openConnections: Int { connections.count }

    /// Opens the socket now (call before dropping privileges; a unix socket is made
    /// mode 0666 since it only answers lookups and Postfix runs as `postfix`).
    ///
    /// - Parameter table: for `tcpTable`, the table this socket serves; ignored for
    ///   `socketmap`, where each request names its table.
    public init(address: LookupListenAddress, kind: WireProtocol, table: SRSTableName = .forward,
                lookups: SRSLookupTable, logger: Logger, limits: Limits = Limits()) throws(LookupServerError) {
        self.limits = limits
        self.address = address
        self.kind = kind
        self.table = table
        self.lookups = lookups
        self.logger = logger
        self.listener = try SocketSupport.listen(on: address)
    }

    /// The port actually bound (useful when the configuration said port 0 in tests).
    public var boundPort: Int? { StreamSocket.boundPort(listener) }

    /// Serves on a dedicated thread until the process exits.
    public func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "vigie-srs-\(kind.rawValue)"
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let connection = StreamSocket.accept(listener) ?? -1
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                logger.error("srs lookup accept failed", metadata: ["error": "\(String(cString: strerror(errno)))", "listen": "\(address)"])
                sleep(1)
                continue
            }
            accepted.add(1, ordering: .relaxed)
            if connections.admit(connection, maximum: limits.maximumConnections) {
                logger.warning("srs lookup: too many connections, closed the longest idle", metadata: [
                    "listen": "\(address)", "max": "\(limits.maximumConnections)",
                ])
            }
            SocketSupport.prepareConnection(connection)
            let thread = Thread { [self] in
                serve(connection)
                connections.remove(connection)
                close(connection)
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var reader = SocketReader(fd: fd, requestTimeout: limits.requestTimeout, idleTimeout: limits.idleTimeout)
        switch kind {
        case .tcpTable:
            while let line = reader.readLine(limit: TCPTableProtocol.maximumLineLength) {
                let reply: [UInt8]
                switch line {
                case .line(let bytes):
                    switch TCPTableProtocol.parse(line: bytes[...]) {
                    case .get(let key): reply = TCPTableProtocol.reply(lookups.lookup(table, key: key))
                    case .invalid(let reason): reply = TCPTableProtocol.reply(.permanent(reason))
                    }
                case .tooLong:
                    _ = StreamSocket.writeAll(fd, TCPTableProtocol.reply(.permanent("request longer than \(TCPTableProtocol.maximumLineLength) bytes")))
                    return
                }
                guard StreamSocket.writeAll(fd, reply) else { return }
                connections.touch(fd)
            }
        case .socketmap:
            while true {
                switch reader.readNetstring() {
                case .payload(let payload):
                    let reply: [UInt8]
                    switch SocketmapProtocol.parse(payload: payload[...]) {
                    case .lookup(let table, let key): reply = SocketmapProtocol.reply(lookups.lookup(table, key: key))
                    case .invalid(let reason): reply = SocketmapProtocol.reply(.permanent(reason))
                    }
                    guard StreamSocket.writeAll(fd, reply) else { return }
                    connections.touch(fd)
                case .malformed(let reason):
                    _ = StreamSocket.writeAll(fd, SocketmapProtocol.reply(.permanent(reason)))
                    return
                case .closed:
                    return
                }
            }
        }
    }
}

public struct LookupServerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// Buffered reads from a connection, bounded.
struct SocketReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private let requestTimeout: Duration
    private let idleTimeout: Duration
    /// A whole request was read on this connection: between requests, the idle timeout applies.
    private var servedOne = false
    /// When the request being read began (its first byte, or the connection for the first one).
    private var requestStarted = ContinuousClock.now

    init(fd: Int32, requestTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(600)) {
        self.fd = fd
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
    }

    /// A whole request was taken from the buffer.
    private mutating func requestDone() {
        servedOne = true
        requestStarted = .now
    }

    /// How long the next read may wait: the idle timeout between requests, else
    /// what is left of this request's time. Nil when that time is up.
    private func receiveTimeout() -> Duration? {
        let pending = start < buffer.count
        if servedOne && !pending { return idleTimeout }
        let left = requestTimeout - (ContinuousClock.now - requestStarted)
        return left > .zero ? left : nil
    }

    enum Line { case line([UInt8]), tooLong }
    enum Netstring { case payload([UInt8]), malformed(String), closed }

    /// Reads more bytes; false at end of stream, error or idle timeout.
    private mutating func fill() -> Bool {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 8192 {
            buffer.removeFirst(start)
            start = 0
        }
        guard let timeout = receiveTimeout() else { return false }
        let wasEmpty = start == buffer.count
        // Empty at end of stream; a failure is an error or the timeout.
        guard let chunk = try? StreamSocket.read(fd, upTo: 4096, deadline: .now + timeout), !chunk.isEmpty else { return false }
        // The first bytes of a request after an idle wait start its clock.
        if wasEmpty && servedOne { requestStarted = .now }
        buffer.append(contentsOf: chunk)
        return true
    }

    /// The next line without its LF; nil at end of stream (a partial last line is dropped).
    mutating func readLine(limit: Int) -> Line? {
        // How far past `start` has been searched already (fill() may move `start`).
        var searched = 0
        while true {
            if let newline = buffer[(start + searched)...].firstIndex(of: 10) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                requestDone()
                return line.count > limit ? .tooLong : .line(line)
            }
            searched = buffer.count - start
            if searched > limit { return .tooLong }
            guard fill() else { return nil }
        }
    }

    mutating func readNetstring() -> Netstring {
        while true {
            switch SocketmapProtocol.parseNetstring(buffer[start...]) {
            case .complete(let payload, let consumed):
                let bytes = Array(payload)
                start += consumed
                requestDone()
                return .payload(bytes)
            case .malformed(let reason):
                return .malformed(reason)
            case .incomplete:
                guard fill() else { return .closed }
            }
        }
    }
}

/// The lookup services' socket calls, on VigieSockets' `StreamSocket`.
enum SocketSupport {
    static func listen(on address: LookupListenAddress) throws(LookupServerError) -> Int32 {
        let endpoint: StreamSocket.Endpoint
        switch address {
        case .unix(let path): endpoint = .unix(path: path)
        case .inet(let host, let port): endpoint = .tcp(host: host, port: port)
        }
        do {
            // Postfix's processes run as another user: the unix socket is for all to use.
            return try StreamSocket.listen(on: endpoint, backlog: 128, mode: 0o666)
        } catch {
            var message = "cannot listen on \(address): \(error.operation): \(String(cString: strerror(error.code)))"
            if error.code == EADDRINUSE { message += " (is postsrsd still running? stop it, or change the port)" }
            throw LookupServerError(message: message)
        }
    }

    static func prepareConnection(_ fd: Int32) {
        StreamSocket.setTimeouts(fd, receive: nil, send: .seconds(30))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))  // fails harmlessly on unix sockets
    }
}
