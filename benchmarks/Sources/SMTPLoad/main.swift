// SMTPLoad: sends one given RFC 5322 file over SMTP, N connections at once, one
// message per session (EHLO, MAIL, RCPT, DATA, QUIT), like smtp-source does with its
// synthetic mail. Exists because smtp-source cannot send a file, and the inbound
// benchmark needs a DKIM-signed message whose bytes arrive intact.
//
//   SMTPLoad --server 127.0.0.1:PORT --message FILE.eml [--concurrency 8]
//            [--messages 1000] [--duration 120] [--helo NAME] [--from ADDR]
//            [--to ADDR] [--label NAME]
//
// Prints one JSON line: messages (sessions that ended with 250 after DATA),
// errors, seconds (wall time, first connect to last QUIT), messages_per_second,
// latency_ms per session (p50, p90, p99, max, mean; connect to 221) and up to five
// error texts. Bounded: at most --messages sessions are attempted, and none starts
// after --duration seconds. Loopback only.
//
// No PIPELINING and no TCP_NODELAY (smtp-source uses neither by default): one
// command, one reply, so each session costs Postfix's smtpd its real round trips.

import Foundation
import LoadSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var host = "127.0.0.1"
    var port: UInt16 = 25
    var message = ""
    var concurrency = 1
    var messages = 1000
    var duration = 120.0
    var helo = "client.bench.test"
    var from = "sender@bench.test"
    var to = "friend@sink.test"
    var label = ""
}

func fail(_ message: String) -> Never { failUsage("SMTPLoad", message) }

func parseOptions() -> Options {
    var options = Options()
    var args = OptionReader(tool: "SMTPLoad")
    func value(_ name: String) -> String { args.value(of: name) }
    while let arg = args.next() {
        switch arg {
        case "--server":
            let text = value(arg)
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
                fail("--server wants HOST:PORT")
            }
            options.host = String(text[..<colon])
            options.port = port
        case "--message": options.message = value(arg)
        case "--concurrency": options.concurrency = max(1, Int(value(arg)) ?? 1)
        case "--messages": options.messages = max(1, Int(value(arg)) ?? 1000)
        case "--duration": options.duration = Double(value(arg)) ?? 120
        case "--helo": options.helo = value(arg)
        case "--from": options.from = value(arg)
        case "--to": options.to = value(arg)
        case "--label": options.label = value(arg)
        default: fail("unknown option \(arg)")
        }
    }
    if options.message.isEmpty { fail("--message is required") }
    // A load generator aimed anywhere but this host would be a spam cannon.
    if !options.host.hasPrefix("127.") { fail("--server must be a loopback address (127.x.x.x)") }
    return options
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The DATA payload, built once: CRLF line ends (a file with bare LF is converted,
/// since Postfix would otherwise keep them and the DKIM body hash would differ from
/// what the signer saw), dot-stuffed (RFC 5321 4.5.2), and the final ".".
func dataPayload(_ file: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(file.count + 64)
    var lineStart = true
    var i = 0
    while i < file.count {
        let byte = file[i]
        if lineStart && byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
        if byte == UInt8(ascii: "\n") {
            if out.last != UInt8(ascii: "\r") { out.append(UInt8(ascii: "\r")) }
            out.append(byte)
            lineStart = true
        } else {
            out.append(byte)
            lineStart = false
        }
        i += 1
    }
    if !lineStart { out += Array("\r\n".utf8) }
    out += Array(".\r\n".utf8)
    return out
}

struct SMTPError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One SMTP client connection over a blocking socket with timeouts, so a stuck
/// server ends the session with an error rather than hanging the run.
final class Connection {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 8192)
    private var start = 0
    private var end = 0

    init(host: String, port: UInt16, timeoutSeconds: Int = 30) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SMTPError("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { close(fd); throw SMTPError("bad address \(host)") }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { let e = errno; close(fd); throw SMTPError("connect \(host):\(port): errno \(e)") }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        if let error = writeAll(fd, bytes) { throw SMTPError("write: errno \(error)") }
    }

    /// Reads one reply, multi-line included ("250-..." up to "250 ..."), and checks its code.
    func expect(_ code: Int, after what: String) throws {
        while true {
            let line = try readLine()
            guard line.count >= 3, let got = Int(String(decoding: line.prefix(3), as: UTF8.self)) else {
                throw SMTPError("\(what): malformed reply \(String(decoding: line, as: UTF8.self))")
            }
            if line.count > 3 && line[3] == UInt8(ascii: "-") { continue }
            if got != code { throw SMTPError("\(what): \(String(decoding: line, as: UTF8.self))") }
            return
        }
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let newline = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[start..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                start = newline + 1
                return Array(line)
            }
            if start > 0 {
                buffer.withUnsafeMutableBufferPointer { b in _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start) }
                end -= start
                start = 0
            }
            guard end < buffer.count else { throw SMTPError("reply line too long") }
            let n = buffer.withUnsafeMutableBufferPointer { b in read(fd, b.baseAddress! + end, b.count - end) }
            if n == 0 { throw SMTPError("server closed the connection") }
            if n < 0 {
                if errno == EINTR { continue }
                throw SMTPError(errno == EAGAIN ? "read timed out" : "read: errno \(errno)")
            }
            end += n
        }
    }
}

let options = parseOptions()
guard let file = FileManager.default.contents(atPath: options.message) else { fail("cannot read \(options.message)") }
let payload = dataPayload(Array(file))
let commands = (ehlo: Array("EHLO \(options.helo)\r\n".utf8), mail: Array("MAIL FROM:<\(options.from)>\r\n".utf8),
                rcpt: Array("RCPT TO:<\(options.to)>\r\n".utf8), data: Array("DATA\r\n".utf8), quit: Array("QUIT\r\n".utf8))

@Sendable func session() throws {
    let c = try Connection(host: options.host, port: options.port)
    try c.expect(220, after: "greeting")
    try c.send(commands.ehlo); try c.expect(250, after: "EHLO")
    try c.send(commands.mail); try c.expect(250, after: "MAIL")
    try c.send(commands.rcpt); try c.expect(250, after: "RCPT")
    try c.send(commands.data); try c.expect(354, after: "DATA")
    try c.send(payload); try c.expect(250, after: "end of data")
    try c.send(commands.quit); try c.expect(221, after: "QUIT")
}

struct WorkerResult: Sendable {
    var latencies: [UInt64] = []
    var errors = 0
    var errorTexts: [String] = []
}

let nextSession = Atomic<Int>(0)
let started = monotonicNanos()
let deadline = started + UInt64(options.duration * 1e9)
let results = Mutex<[WorkerResult]>([])
let finished = DispatchSemaphore(value: 0)

for _ in 0..<options.concurrency {
    let thread = Thread {
        var result = WorkerResult()
        defer {
            results.withLock { $0.append(result) }
            finished.signal()
        }
        while nextSession.add(1, ordering: .relaxed).oldValue < options.messages, monotonicNanos() < deadline {
            let t0 = monotonicNanos()
            do {
                try session()
                result.latencies.append(monotonicNanos() - t0)
            } catch {
                result.errors += 1
                if result.errorTexts.count < 5 { result.errorTexts.append("\(error)") }
                usleep(10_000)  // a refusing server must not turn this into a busy loop
            }
        }
    }
    thread.stackSize = 1 << 20
    thread.start()
}
for _ in 0..<options.concurrency { finished.wait() }
let seconds = Double(monotonicNanos() - started) / 1e9

let all = results.withLock { $0 }
let latencies = all.flatMap(\.latencies).sorted()
let report: [String: Any] = [
    "label": options.label, "server": "\(options.host):\(options.port)", "concurrency": options.concurrency,
    "messages": latencies.count, "errors": all.reduce(0) { $0 + $1.errors },
    "error_samples": Array(all.flatMap(\.errorTexts).prefix(5)),
    "seconds": seconds, "messages_per_second": seconds > 0 ? Double(latencies.count) / seconds : 0,
    "message_bytes": file.count,
    "latency_ms": latencySummary(sortedNanos: latencies),
]
let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
exit(latencies.isEmpty ? 1 : 0)
