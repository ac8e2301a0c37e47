// Running programs from tests with posix_spawn: a blocking `ProcessRunner.run` with a
// timeout, and `LaunchedProcess` for daemons started in the background (e.g. `vigie`).
//
// Children get: default signal dispositions and an empty signal mask (the test process
// may ignore SIGPIPE or block signals), no inherited descriptors beyond 0/1/2 (so a
// Postfix master started by a test never holds one of the test's sockets), and their
// own process group (so a timeout or kill9() also reaches their children).

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a finished program did.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public let executable: String
    public let arguments: [String]
    /// Exit code, or 128 + signal number if a signal ended the process.
    public let status: Int32
    /// The signal that ended the process, if any.
    public let signal: Int32?
    public let stdout: String
    public let stderr: String

    public var succeeded: Bool { status == 0 && signal == nil }

    public var description: String {
        var text = "\(([executable] + arguments).joined(separator: " ")) -> status \(status)"
        if let signal { text += " (signal \(signal))" }
        if !stdout.isEmpty { text += "\n--- stdout ---\n\(stdout)" }
        if !stderr.isEmpty { text += "\n--- stderr ---\n\(stderr)" }
        return text
    }
}

public enum ProcessRunnerError: Error, CustomStringConvertible, Sendable {
    case spawnFailed(executable: String, error: String)
    case timedOut(executable: String, arguments: [String], after: TimeInterval, stdout: String, stderr: String)
    case failed(ProcessResult)

    public var description: String {
        switch self {
        case let .spawnFailed(executable, error):
            return "cannot start \(executable): \(error)"
        case let .timedOut(executable, arguments, after, stdout, stderr):
            return "\(([executable] + arguments).joined(separator: " ")) did not finish within \(after) s"
                + " (killed)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
        case let .failed(result):
            return "command failed: \(result)"
        }
    }
}

public enum ProcessRunner {
    /// Runs `executable` (a path, or a name looked up in PATH) to completion.
    ///
    /// - Parameters:
    ///   - environment: variables set on top of the inherited environment
    ///     (or the whole environment when `inheritEnvironment` is false).
    ///   - stdin: text fed to standard input; nil gives /dev/null.
    ///   - timeout: seconds before the process group is killed with SIGKILL and
    ///     `ProcessRunnerError.timedOut` is thrown.
    /// - Returns: the exit status and captured output; a non-zero exit is not an error here
    ///   (use `runChecked` for that).
    @discardableResult
    public static func run(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        inheritEnvironment: Bool = true,
        stdin: String? = nil,
        workingDirectory: String? = nil,
        timeout: TimeInterval = 60
    ) throws -> ProcessResult {
        let outFD = try anonymousTempFile()
        defer { close(outFD) }
        let errFD = try anonymousTempFile()
        defer { close(errFD) }
        let inFD: Int32
        if let stdin {
            inFD = try anonymousTempFile()
            let bytes = Array(stdin.utf8)
            try writeAll(inFD, bytes)
            lseek(inFD, 0, SEEK_SET)
        } else {
            inFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard inFD >= 0 else {
                throw ProcessRunnerError.spawnFailed(executable: executable, error: "open /dev/null: \(POSIX.describe(errno: errno))")
            }
        }
        defer { close(inFD) }

        let env = mergedEnvironment(environment, inherit: inheritEnvironment)
        let pid = try Spawner.spawn(
            executable: executable, arguments: arguments, environment: env,
            stdin: inFD, stdout: outFD, stderr: errFD, workingDirectory: workingDirectory)

        let deadline = Date().addingTimeInterval(timeout)
        var delay: TimeInterval = 0.002
        while true {
            if let raw = Spawner.reap(pid, block: false) {
                let (status, signal) = POSIX.decodeWaitStatus(raw)
                return ProcessResult(
                    executable: executable, arguments: arguments, status: status, signal: signal,
                    stdout: readAll(outFD), stderr: readAll(errFD))
            }
            if Date() >= deadline {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                _ = Spawner.reap(pid, block: true)
                throw ProcessRunnerError.timedOut(
                    executable: executable, arguments: arguments, after: timeout,
                    stdout: readAll(outFD), stderr: readAll(errFD))
            }
            POSIX.sleep(seconds: delay)
            delay = min(delay * 2, 0.05)
        }
    }

    /// Like `run`, but throws `ProcessRunnerError.failed` unless the exit status is 0.
    @discardableResult
    public static func runChecked(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        inheritEnvironment: Bool = true,
        stdin: String? = nil,
        workingDirectory: String? = nil,
        timeout: TimeInterval = 60
    ) throws -> ProcessResult {
        let result = try run(
            executable, arguments, environment: environment, inheritEnvironment: inheritEnvironment,
            stdin: stdin, workingDirectory: workingDirectory, timeout: timeout)
        guard result.succeeded else { throw ProcessRunnerError.failed(result) }
        return result
    }

    static func mergedEnvironment(_ extra: [String: String], inherit: Bool) -> [String: String] {
        var env = inherit ? ProcessInfo.processInfo.environment : [:]
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// An unlinked temporary file (close-on-exec in this process) for captured output.
    static func anonymousTempFile() throws -> Int32 {
        var template = Array("/tmp/vigie-capture-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw HarnessError("mkstemp: \(POSIX.describe(errno: errno))") }
        unlink(POSIX.string(fromCString: template))
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HarnessError("write: \(POSIX.describe(errno: errno))")
            }
            offset += n
        }
    }

    /// Everything in the file behind `fd`, from its start.
    static func readAll(_ fd: Int32) -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A program running in the background (for example the `vigie` daemon), with its standard
/// output and standard error appended to one file. Killed with SIGKILL (whole process group)
/// in deinit if still running.
public final class LaunchedProcess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: String
    public let arguments: [String]
    /// The file receiving standard output and standard error.
    public let outputPath: String

    private let lock = NSLock()
    private var rawExitStatus: Int32?
    private let ownsOutputFile: Bool

    /// Starts the program. Standard input is /dev/null.
    ///
    /// - Parameters:
    ///   - environment: variables set on top of the inherited environment.
    ///   - outputPath: where to append stdout+stderr; nil creates a temporary file that is
    ///     removed in deinit (unless `VIGIE_KEEP_TEST_DIRS=1`).
    public init(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        inheritEnvironment: Bool = true,
        outputPath: String? = nil,
        workingDirectory: String? = nil
    ) throws {
        let path: String
        if let outputPath {
            path = outputPath
            ownsOutputFile = false
        } else {
            var template = Array("/tmp/vigie-process-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw HarnessError("mkstemp: \(POSIX.describe(errno: errno))") }
            close(fd)
            path = POSIX.string(fromCString: template)
            ownsOutputFile = true
        }
        let outFD = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard outFD >= 0 else { throw HarnessError("open \(path): \(POSIX.describe(errno: errno))") }
        defer { close(outFD) }
        let inFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard inFD >= 0 else { throw HarnessError("open /dev/null: \(POSIX.describe(errno: errno))") }
        defer { close(inFD) }

        self.executable = executable
        self.arguments = arguments
        self.outputPath = path
        self.pid = try Spawner.spawn(
            executable: executable, arguments: arguments,
            environment: ProcessRunner.mergedEnvironment(environment, inherit: inheritEnvironment),
            stdin: inFD, stdout: outFD, stderr: outFD, workingDirectory: workingDirectory)
    }

    deinit {
        if pollExit() == nil {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            if let raw = Spawner.reap(pid, block: true) { rawExitStatus = raw }
        }
        if ownsOutputFile && !TestDirectory.keepRequested {
            unlink(outputPath)
        }
    }

    /// True until the process has exited (and been reaped).
    public var isRunning: Bool { pollExit() == nil }

    /// Exit status (or 128 + signal) once the process has exited, else nil.
    public var exitStatus: Int32? {
        pollExit().map { POSIX.decodeWaitStatus($0).status }
    }

    /// The signal that ended the process, if it has ended by a signal.
    public var terminationSignal: Int32? {
        pollExit().flatMap { POSIX.decodeWaitStatus($0).signal }
    }

    /// Sends `signal` to the process itself (not its group).
    public func send(signal: Int32) {
        if pollExit() == nil { kill(pid, signal) }
    }

    /// SIGTERM to the process.
    public func terminate() { send(signal: SIGTERM) }

    /// SIGKILL to the process and its whole process group.
    public func kill9() {
        if pollExit() == nil {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
    }

    /// Waits up to `timeout` seconds for the process to exit; returns its exit status
    /// (or 128 + signal), or nil if it is still running.
    @discardableResult
    public func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var delay: TimeInterval = 0.002
        while true {
            if let status = exitStatus { return status }
            if Date() >= deadline { return nil }
            POSIX.sleep(seconds: delay)
            delay = min(delay * 2, 0.05)
        }
    }

    /// SIGTERM, then SIGKILL if the process is still running after `grace` seconds.
    /// Returns the exit status (128 + 9 if it had to be killed).
    @discardableResult
    public func stop(grace: TimeInterval = 5) -> Int32? {
        terminate()
        if let status = waitForExit(timeout: grace) { return status }
        kill9()
        return waitForExit(timeout: 5)
    }

    /// Everything the process has written so far (stdout and stderr interleaved).
    public func output() -> String {
        guard let data = FileManager.default.contents(atPath: outputPath) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until the output contains `text`; throws with the output so far on timeout,
    /// or as soon as the process exits without having printed it.
    @discardableResult
    public func waitForOutput(containing text: String, timeout: TimeInterval = 10) throws -> String {
        try Wait.forValue("\(executable) to print \"\(text)\"", timeout: timeout) { () -> String? in
            let out = output()
            if out.contains(text) { return out }
            if let status = exitStatus {
                throw HarnessError("\(executable) exited with status \(status) before printing \"\(text)\"; output:\n\(out)")
            }
            return nil
        }
    }

    /// The raw wait status once reaped; reaps without blocking.
    private func pollExit() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let rawExitStatus { return rawExitStatus }
        if let raw = Spawner.reap(pid, block: false) {
            rawExitStatus = raw
            return raw
        }
        return nil
    }
}

/// posix_spawn with the descriptor and signal hygiene described at the top of this file.
enum Spawner {
    static func spawn(
        executable: String, arguments: [String], environment: [String: String],
        stdin: Int32, stdout: Int32, stderr: Int32, workingDirectory: String?
    ) throws -> pid_t {
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        #if os(Linux)
        // glibc >= 2.34 has these, but its headers only declare them for _GNU_SOURCE,
        // which Swift's Glibc module does not see: look them up at run time.
        if let closeFrom = GlibcExtras.addCloseFrom {
            _ = closeFrom(&actions, 3)
        }
        if let workingDirectory {
            guard let addChdir = GlibcExtras.addChdir else {
                throw ProcessRunnerError.spawnFailed(executable: executable, error: "posix_spawn_file_actions_addchdir_np unavailable")
            }
            _ = workingDirectory.withCString { addChdir(&actions, $0) }
        }
        #else
        if let workingDirectory {
            posix_spawn_file_actions_addchdir_np(&actions, workingDirectory)
        }
        #endif

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = [executable] + arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStringArray(argv) { argvPointers in
            withCStringArray(envp) { envPointers in
                if executable.contains("/") {
                    return posix_spawn(&pid, executable, &actions, &attributes, argvPointers, envPointers)
                } else {
                    return posix_spawnp(&pid, executable, &actions, &attributes, argvPointers, envPointers)
                }
            }
        }
        guard rc == 0 else {
            throw ProcessRunnerError.spawnFailed(executable: executable, error: POSIX.describe(errno: rc))
        }
        return pid
    }

    /// The raw wait status if `pid` has exited (reaping it), nil if it is still running.
    /// If the child was already reaped elsewhere (ECHILD), reports status 255.
    static func reap(_ pid: pid_t, block: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, block ? 0 : WNOHANG)
            if rc == pid { return status }
            if rc == 0 { return nil }
            if errno == EINTR { continue }
            return 255 << 8
        }
    }

    private static func withCStringArray<R>(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
    ) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

#if os(Linux)
/// glibc functions that exist at run time but are hidden from Swift by feature macros.
enum GlibcExtras {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    static let addCloseFrom: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<T>(_ name: String) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: T.self)
    }
}
#endif
