// MilterLoad: a milter-protocol (v6) load generator. N connections, each running
// whole sessions (connect, helo, mail with {auth_authen}, rcpt, headers, body, end of
// message) back to back, as Postfix would, against one milter socket. Prints one JSON
// line: messages/s and latency percentiles (one latency = first packet of the session
// to the final end-of-message reply).
//
//   MilterLoad --socket unix:/path|inet:127.0.0.1:PORT [--concurrency 8]
//              [--messages 20000] [--duration 10] [--warmup 200] [--accounts 1000]
//              [--body-bytes 4096] [--label NAME] [--nodelay] [--reuse]
//              [--message FILE.eml] [--client-ip IP] [--client-name NAME] [--helo NAME]
//              [--sender ADDR] [--no-auth]
//
// --message sends that RFC 5322 file's header fields (as Postfix does: continuation
// lines joined with LF, leading space of the value dropped unless SMFIP_HDR_LEADSPC)
// and body (CRLF lines) instead of the built-in message. --client-ip/--client-name/
// --helo set the connect and HELO stages; --sender the envelope sender of every
// session; --no-auth sends no {auth_type}/{auth_authen} (an unauthenticated internet
// client). The end-of-message modification requests (added headers) of each
// worker's first measured session are printed under "modifications".
//
// By default each session opens its own milter connection (OPTNEG included), ends
// with QUIT and closes, as Postfix's smtpd does per SMTP connection; latency then
// includes connect + OPTNEG. --reuse keeps one connection per worker (QUIT_NC).
//
// Bounded: stops after --messages sessions or --duration seconds, whichever first.
// Loopback and unix sockets only.

import Foundation
import LoadSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var socket = ""
    var concurrency = 1
    var messages = 20_000
    var duration = 10.0
    var warmup = 200
    var accounts = 1000
    var bodyBytes = 4096
    var label = ""
    var noDelay = false
    /// Keep one milter connection per worker (QUIT_NC between sessions) instead of
    /// Postfix's one connection per SMTP session.
    var reuse = false
    var message = ""
    var client = ClientIdentity()
    var sender = ""
}

func parseOptions() -> Options {
    var options = Options()
    var args = OptionReader(tool: "MilterLoad")
    func value(_ name: String) -> String { args.value(of: name) }
    while let arg = args.next() {
        switch arg {
        case "--socket": options.socket = value(arg)
        case "--concurrency": options.concurrency = Int(value(arg)) ?? 1
        case "--messages": options.messages = Int(value(arg)) ?? 20_000
        case "--duration": options.duration = Double(value(arg)) ?? 10
        case "--warmup": options.warmup = Int(value(arg)) ?? 200
        case "--accounts": options.accounts = max(1, Int(value(arg)) ?? 1000)
        case "--body-bytes": options.bodyBytes = Int(value(arg)) ?? 4096
        case "--label": options.label = value(arg)
        case "--nodelay": options.noDelay = true
        case "--reuse": options.reuse = true
        case "--message": options.message = value(arg)
        case "--client-ip": options.client.ip = value(arg)
        case "--client-name": options.client.name = value(arg)
        case "--helo": options.client.helo = value(arg)
        case "--sender": options.sender = value(arg)
        case "--no-auth": options.client.authenticated = false
        default: fail("unknown option \(arg)")
        }
    }
    if options.socket.isEmpty { fail("--socket is required") }
    return options
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("MilterLoad: \(message)\n".utf8))
    exit(2)
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

let options = parseOptions()
guard let address = SocketAddress(options.socket), address.isLoopback else {
    fail("--socket must be unix:/path or inet:127.x.x.x:PORT")
}

var headers: [(String, String)] = [
    ("Received", "from client.bench.test (localhost [127.0.0.1]) by bench.test (Postfix) with ESMTPA"),
    ("From", "Member <member@bench.test>"), ("To", "<friend@sink.test>"), ("Subject", "milter load"),
    ("Date", "Thu, 27 Nov 2025 09:00:00 +0000"), ("Message-ID", "<load@bench.test>"),
    ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"),
]
let line = Array("The quick brown fox jumps over the lazy dog, again and again, for a benchmark.\r\n".utf8)
var body: [UInt8] = []
while body.count < options.bodyBytes { body.append(contentsOf: line) }
body = Array(body.prefix(options.bodyBytes))
if !options.message.isEmpty {
    // Header fields as Postfix's cleanup stores them (LF between continuation
    // lines) and milter8 sends them; the value keeps its leading whitespace here,
    // Session drops it unless the milter negotiated SMFIP_HDR_LEADSPC.
    guard let data = FileManager.default.contents(atPath: options.message) else { fail("cannot read \(options.message)") }
    let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    let parts = text.components(separatedBy: "\n\n")
    guard parts.count >= 2 else { fail("\(options.message): no empty line between header and body") }
    headers = []
    for line in parts[0].split(separator: "\n", omittingEmptySubsequences: false) {
        if (line.first == " " || line.first == "\t"), !headers.isEmpty {
            headers[headers.count - 1].1 += "\n" + line
        } else if let colon = line.firstIndex(of: ":") {
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        } else { fail("\(options.message): bad header line \(line)") }
    }
    var bodyText = parts.dropFirst().joined(separator: "\n\n")
    if !bodyText.isEmpty && !bodyText.hasSuffix("\n") { bodyText += "\n" }
    body = Array(bodyText.replacingOccurrences(of: "\n", with: "\r\n").utf8)
}
// Postfix sends the body in chunks of at most 64 KiB (SMFI_V2_MAXDATASIZE).
let bodyChunks = stride(from: 0, to: body.count, by: 65_535).map { Array(body[$0..<min(body.count, $0 + 65_535)]) }

let nextMessage = Atomic<Int>(0)
let deadline = monotonicNanos() + UInt64(options.duration * 1e9)
let total = options.warmup + options.messages
let measuredStart = Mutex<UInt64?>(nil)

struct WorkerResult: Sendable {
    var latencies: [UInt64] = []
    var decisions: [UInt64] = []
    var outcomes: [String: Int] = [:]
    var errors: [String] = []
    var negotiated = ""
    var modifications: [String]?
}

let results = Mutex<[WorkerResult]>([])
let finished = DispatchSemaphore(value: 0)

func work(worker: Int) {
    var result = WorkerResult()
    defer {
        results.withLock { $0.append(result) }
        finished.signal()
    }
    var session: Session?
    while true {
        let n = nextMessage.add(1, ordering: .relaxed).oldValue
        if n >= total || monotonicNanos() > deadline { return }
        if n == options.warmup { measuredStart.withLock { $0 = monotonicNanos() } }
        do {
            let started = monotonicNanos()
            if session == nil {
                let connection = try MilterConnection(address)
                if options.noDelay { connection.setNoDelay() }
                session = try Session(connection: connection, bodyChunks: bodyChunks, headers: headers, client: options.client)
                if result.negotiated.isEmpty {
                    let s = session!.negotiated
                    result.negotiated = "version=\(s.version) actions=0x\(String(s.actions, radix: 16)) protocol=\(s.flags)"
                        + " macros=\(s.macros.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key):\($0.value.joined(separator: " "))" })"
                }
            }
            let queueID = String(format: "4Z%09X", n)
            let account = "member\(n % options.accounts)"
            let capturing = n >= options.warmup && result.modifications == nil
            session!.capture = capturing
            session!.decisionNanos.removeAll(keepingCapacity: true)
            let outcome = try session!.run(login: account, queueID: queueID,
                                           sender: options.sender.isEmpty ? "\(account)@bench.test" : options.sender,
                                           recipient: "friend\(n)@sink.test", reuse: options.reuse)
            let elapsed = monotonicNanos() - started
            let decided = session!.decisionNanos
            if capturing { result.modifications = session!.modifications }
            if !options.reuse { session = nil }
            if n >= options.warmup {
                result.decisions += decided
                result.latencies.append(elapsed)
                result.outcomes[outcome.rawValue, default: 0] += 1
            }
        } catch {
            if result.errors.count < 5 { result.errors.append("\(error)") }
            result.outcomes["error", default: 0] += 1
            session = nil
            usleep(10_000)
        }
    }
}

for worker in 0..<options.concurrency {
    let thread = Thread { work(worker: worker) }
    thread.stackSize = 1 << 20
    thread.start()
}
for _ in 0..<options.concurrency { finished.wait() }
let end = monotonicNanos()

let all = results.withLock { $0 }
let latencies = all.flatMap(\.latencies).sorted()
var outcomes: [String: Int] = [:]
for r in all { for (k, v) in r.outcomes { outcomes[k, default: 0] += v } }
let errors = Array(all.flatMap(\.errors).prefix(5))
let start = measuredStart.withLock { $0 } ?? end
let seconds = Double(end - start) / 1e9
// The generator's own CPU (warm-up included), so that a run can say where the
// machine's cores went: on 2 cores at c=8 every process competes for them.
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let cpuSeconds = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
    + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
let report: [String: Any] = [
    "label": options.label, "socket": options.socket, "concurrency": options.concurrency,
    "messages": latencies.count, "seconds": seconds, "cpu_seconds": cpuSeconds,
    "messages_per_second": seconds > 0 ? Double(latencies.count) / seconds : 0,
    "latency_ms": latencySummary(sortedNanos: latencies),
    "decision_ms": latencySummary(sortedNanos: all.flatMap(\.decisions).sorted()),
    "outcomes": outcomes, "errors": errors,
    "mode": options.reuse ? "reuse" : "connection-per-session",
    "negotiated": all.first { !$0.negotiated.isEmpty }?.negotiated ?? "",
    "modifications": all.first { $0.modifications != nil }?.modifications ?? [],
]
let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
exit(outcomes["error", default: 0] > 0 && latencies.isEmpty ? 1 : 0)
