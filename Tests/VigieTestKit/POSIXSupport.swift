// Small POSIX helpers shared by the harness: errno text, process liveness (zombies count
// as dead), free loopback ports, private temporary directories and a polling wait.

import Foundation
import VigieSockets

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the test harness itself (not of the code under test).
public struct HarnessError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

enum POSIX {
    /// `strerror(code)` plus the number, e.g. "Connection refused (errno 111)".
    static func describe(errno code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// True while `pid` exists and is not a zombie. A Postfix master we stopped is
    /// reparented to PID 1, which may take seconds to reap it; a zombie must count as gone.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        #if os(Linux)
        if let state = processState(pid), state == "Z" || state == "X" { return false }
        #endif
        return true
    }

    #if os(Linux)
    /// The state letter from /proc/PID/stat ("R", "S", "Z", ...), nil if unreadable.
    static func processState(_ pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let rest = stat[stat.index(after: close)...].drop(while: { $0 == " " })
        return rest.first
    }

    /// The process group of `pid` (field 5 of /proc/PID/stat), nil if unreadable.
    static func processGroup(_ pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] = state, [1] = ppid, [2] = pgrp
        guard fields.count > 2, let pgrp = pid_t(fields[2]) else { return nil }
        return pgrp
    }

    /// Live (non-zombie) processes whose process group is `pgid`.
    static func livingMembers(ofProcessGroup pgid: pid_t) -> [pid_t] {
        guard pgid > 0,
            let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc")
        else { return [] }
        return entries.compactMap { pid_t($0) }.filter { pid in
            processGroup(pid) == pgid && isAlive(pid)
        }
    }
    #endif

    /// Decodes a `waitpid` status into (exit code or 128+signal, signal if killed).
    static func decodeWaitStatus(_ status: Int32) -> (status: Int32, signal: Int32?) {
        let low = status & 0x7f
        if low == 0 { return ((status >> 8) & 0xff, nil) }
        return (128 + low, low)
    }

    /// The text of a NUL-terminated C buffer.
    static func string(fromCString buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func sleep(seconds: TimeInterval) {
        guard seconds > 0 else { return }
        usleep(useconds_t(min(seconds, 3600) * 1_000_000))
    }
}

/// Free TCP ports on 127.0.0.1, found by binding port 0 and reading the port back.
public enum LoopbackPort {
    /// A port that was free a moment ago. Another process may still take it before the
    /// caller binds it; `PostfixInstance.start()` retries with a fresh port if so.
    public static func free() throws -> Int {
        try bindLoopback(port: 0)
    }

    /// Whether 127.0.0.1:`port` can be bound right now.
    public static func isFree(_ port: Int) -> Bool {
        (try? bindLoopback(port: port)) != nil
    }

    /// Binds 127.0.0.1:`port` (0 = any), closes the socket and returns the bound port.
    /// `StreamSocket.listen` sets `SO_REUSEADDR`, like Postfix's master: a port with
    /// only TIME_WAIT leftovers counts as free.
    private static func bindLoopback(port: Int) throws -> Int {
        do {
            let fd = try StreamSocket.listen(on: .tcp(host: "127.0.0.1", port: port), backlog: 1)
            defer { close(fd) }
            guard let bound = StreamSocket.boundPort(fd) else { throw HarnessError("getsockname(): \(POSIX.describe(errno: errno))") }
            return bound
        } catch let error as SocketFailure {
            throw HarnessError("\(error)")
        }
    }
}

/// Polling waits with a deadline; every harness wait goes through here so none can hang.
public enum Wait {
    /// Calls `condition` every `interval` seconds until it returns true; throws a
    /// `HarnessError` naming `what` once `timeout` seconds have passed.
    public static func until(
        _ what: @autoclosure () -> String,
        timeout: TimeInterval = 10,
        interval: TimeInterval = 0.05,
        condition: () throws -> Bool
    ) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return }
            if Date() >= deadline {
                throw HarnessError("timed out after \(timeout) s waiting for \(what())")
            }
            POSIX.sleep(seconds: interval)
        }
    }

    /// Like `until`, but returns the first non-nil value `produce` yields.
    public static func forValue<T>(
        _ what: @autoclosure () -> String,
        timeout: TimeInterval = 10,
        interval: TimeInterval = 0.05,
        produce: () throws -> T?
    ) throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let value = try produce() { return value }
            if Date() >= deadline {
                throw HarnessError("timed out after \(timeout) s waiting for \(what())")
            }
            POSIX.sleep(seconds: interval)
        }
    }
}

/// Temporary directories for tests.
public enum TestDirectory {
    /// Creates a fresh directory `<tmp>/<prefix>XXXXXX` (mode 0755 so that Postfix's
    /// unprivileged daemons can traverse it) and returns its path.
    public static func make(prefix: String = "vigie-test-") throws -> String {
        let base = (ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 }) ?? "/tmp"
        var template = Array((base + "/" + prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw HarnessError("mkdtemp in \(base): \(POSIX.describe(errno: errno))") }
        let path = POSIX.string(fromCString: template)
        chmod(path, 0o755)
        return path
    }

    /// Whether the user asked to keep test directories for inspection
    /// (environment variable `VIGIE_KEEP_TEST_DIRS=1`).
    public static var keepRequested: Bool {
        let value = ProcessInfo.processInfo.environment["VIGIE_KEEP_TEST_DIRS"] ?? ""
        return !value.isEmpty && value != "0"
    }
}
