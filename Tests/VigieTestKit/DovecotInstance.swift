// A private Dovecot for end-to-end tests: only its SASL authentication service, for a
// private Postfix's `smtpd_sasl_type = dovecot`. Its own configuration file
// (`dovecot -c FILE`), base and state directories and log in a temporary directory
// under /tmp; no IMAP or POP3 (`protocols =`), no TCP listener at all, so it cannot
// collide with a system Dovecot or another test's.
//
// Layout of `rootDirectory` (/tmp/vigie-dovecot-XXXXXX, mode 0755 so that Postfix's
// smtpd, running as user postfix, reaches the socket):
//   dovecot.conf  the whole configuration (nothing from /etc/dovecot is read)
//   users         passwd-file of the test users, {PLAIN} passwords
//   auth-postfix  the auth socket for Postfix (0660 postfix:postfix)
//   run/          base_dir (master.pid, Dovecot's internal sockets)
//   state/        state_dir
//   dovecot.log   log_path; dovecot.out the process's own stdout and stderr
//
// Logins are mapped by `auth_username_format` before the passwd-file lookup (default
// "%Ln": lower-cased, domain dropped), and Dovecot answers Postfix with the mapped
// name, which Postfix then gives milters as {auth_authen}.
//
// The master runs in the foreground (`dovecot -F`) as a child of the test process, in
// its own process group. `stop()` runs in deinit, and a small watchdog process stops it
// and removes the directory if the test process dies without stopping it.

import Foundation
import VigieSockets

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class DovecotInstance: @unchecked Sendable {
    public static let dovecotCommand = "/usr/sbin/dovecot"

    /// The dovecot binary this instance runs.
    public let command: String

    /// /tmp/vigie-dovecot-XXXXXX
    public let rootDirectory: String
    public let configPath: String
    /// The passwd-file.
    public let usersPath: String
    /// The unix socket Postfix's smtpd connects to (`smtpd_sasl_path`).
    public let authSocketPath: String
    /// Dovecot's log_path (authentication successes and failures with auth_verbose).
    public let logPath: String
    /// Login → password of the test users, as written to the passwd-file.
    public let users: [String: String]

    // All mutable state below is read and written only under `lock`.
    private let lock = NSLock()
    private var process: LaunchedProcess?
    private var removed = false
    private var watchdog: ParentDeathWatchdog?

    /// Writes the configuration into a fresh temporary directory; `start()` runs it.
    ///
    /// - Parameters:
    ///   - users: login → password. Logins are stored as given: write them in the form
    ///     `usernameFormat` produces (lower case for "%Ln").
    ///   - usernameFormat: Dovecot's `auth_username_format`, applied to the login a
    ///     client sends before the lookup.
    ///   - command: the dovecot binary.
    public init(users: [String: String], usernameFormat: String = "%Ln",
                command: String = DovecotInstance.dovecotCommand) throws {
        guard FileManager.default.isExecutableFile(atPath: command) else {
            throw HarnessError(
                "\(command) not found: Dovecot is not installed (Debian package dovecot-core; scripts/install-deps --test installs it)")
        }
        self.command = command
        for account in ["dovecot", "dovenull"] where getpwnam(account) == nil {
            throw HarnessError(
                "no '\(account)' user: dovecot-core's installation creates it; reinstall dovecot-core (scripts/install-deps --test)")
        }
        for (login, password) in users {
            // passwd-file fields are separated by ':', entries by newlines.
            guard !login.isEmpty, !(login + password).contains(where: { $0 == ":" || $0.isNewline }) else {
                throw HarnessError("test user \(login.debugDescription): a passwd-file login or password cannot hold ':' or a newline")
            }
        }
        self.users = users
        var template = Array("/tmp/vigie-dovecot-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw HarnessError("mkdtemp /tmp/vigie-dovecot-XXXXXX: \(POSIX.describe(errno: errno))")
        }
        rootDirectory = POSIX.string(fromCString: template)
        chmod(rootDirectory, 0o755)
        configPath = rootDirectory + "/dovecot.conf"
        usersPath = rootDirectory + "/users"
        authSocketPath = rootDirectory + "/auth-postfix"
        logPath = rootDirectory + "/dovecot.log"
        do {
            try writeConfiguration(usernameFormat: usernameFormat)
        } catch {
            try? FileManager.default.removeItem(atPath: rootDirectory)
            removed = true
            throw error
        }
    }

    deinit {
        stop()
    }

    // MARK: Life cycle

    /// True between a successful `start()` and `stop()` while the master runs.
    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// Starts the master and waits until the auth service answers a handshake on
    /// `authSocketPath` (so a configuration error shows here, with the log, rather
    /// than as a refused login later).
    public func start(timeout: TimeInterval = 20) throws {
        try lock.withLock {
            guard !removed else { throw HarnessError("this DovecotInstance was stopped and removed; make a new one") }
            guard process == nil else { return }
            let launched = try LaunchedProcess(
                command, ["-F", "-c", configPath], outputPath: rootDirectory + "/dovecot.out")
            process = launched
            startWatchdog(masterPID: launched.pid)
            do {
                try Wait.until("Dovecot's auth service to answer on \(authSocketPath)", timeout: timeout, interval: 0.05) {
                    if let status = launched.exitStatus {
                        throw HarnessError("dovecot exited with status \(status)")
                    }
                    return DovecotInstance.authHandshake(socketPath: authSocketPath)
                }
            } catch {
                throw HarnessError("private Dovecot in \(rootDirectory) did not start: \(error)\n\(diagnosticsLocked())")
            }
        }
    }

    /// SIGTERM to the master (it stops its children), SIGKILL to the process group for
    /// anything left, then removes the directory (kept if `VIGIE_KEEP_TEST_DIRS=1`).
    /// Safe to call more than once; also runs in deinit.
    public func stop() {
        lock.withLock {
            stopWatchdog()
            if let process {
                process.terminate()
                if process.waitForExit(timeout: 5) == nil { process.kill9() }
                _ = process.waitForExit(timeout: 5)
                // The log and config processes may outlive the master by a moment.
                #if os(Linux)
                let group = process.pid
                if (try? Wait.until("Dovecot's processes to exit", timeout: 2, interval: 0.02, condition: {
                    POSIX.livingMembers(ofProcessGroup: group).isEmpty
                })) == nil {
                    kill(-group, SIGKILL)
                }
                #endif
            }
            if !removed {
                if TestDirectory.keepRequested {
                    FileHandle.standardError.write(Data("VigieTestKit: kept Dovecot directory \(rootDirectory)\n".utf8))
                } else {
                    try? FileManager.default.removeItem(atPath: rootDirectory)
                }
                removed = true
            }
        }
    }

    /// The master's pid (kept after `stop()` so a test can check it is gone).
    public var masterPID: pid_t? { lock.withLock { process?.pid } }

    /// Processes of this instance still alive (the master's process group). Empty after
    /// `stop()`.
    public func livingProcesses() -> [pid_t] {
        guard let masterPID else { return [] }
        #if os(Linux)
        return POSIX.livingMembers(ofProcessGroup: masterPID)
        #else
        return POSIX.isAlive(masterPID) ? [masterPID] : []
        #endif
    }

    // MARK: Wiring Postfix

    /// main.cf (or `-o`) settings for an smtpd that authenticates with this Dovecot.
    /// `smtpd_tls_auth_only = no`: the tests speak plain TCP on loopback; a real
    /// submission service must keep AUTH behind TLS.
    public var postfixSASLSettings: [(String, String)] {
        [
            ("smtpd_sasl_auth_enable", "yes"),
            ("smtpd_sasl_type", "dovecot"),
            ("smtpd_sasl_path", authSocketPath),
            ("smtpd_tls_auth_only", "no"),
        ]
    }

    /// A master.cf line for a submission-like smtpd on 127.0.0.1:`port`: AUTH through
    /// this Dovecot, and only authenticated clients may send (as Debian's
    /// `submission` example sets it), so a failed login cannot fall back to relaying
    /// from mynetworks. No XCLIENT there; `options` are added as further `-o`.
    public func postfixSubmissionService(port: Int, options: [(String, String)] = []) -> String {
        let settings = postfixSASLSettings + [
            ("syslog_name", "postfix/submission"),
            ("smtpd_authorized_xclient_hosts", ""),
            ("smtpd_client_restrictions", "permit_sasl_authenticated,reject"),
            ("smtpd_relay_restrictions", "permit_sasl_authenticated,reject"),
            ("smtpd_recipient_restrictions", "permit_sasl_authenticated,reject"),
        ] + options
        return "127.0.0.1:\(port) inet n - n - - smtpd " + settings.map { "-o \($0.0)=\($0.1)" }.joined(separator: " ")
    }

    // MARK: The log

    public func log() -> String {
        PostfixInstance.readText(logPath) ?? ""
    }

    public func logLines(containing text: String) -> [String] {
        log().split(separator: "\n").filter { $0.contains(text) }.map(String.init)
    }

    /// Where it runs and the tails of its log and output: for test failure messages.
    public func diagnostics() -> String {
        lock.withLock { diagnosticsLocked() }
    }

    private func diagnosticsLocked() -> String {
        let output = PostfixInstance.readText(rootDirectory + "/dovecot.out") ?? ""
        return "Dovecot in \(rootDirectory), auth socket \(authSocketPath)\n--- dovecot.log tail ---\n"
            + PostfixInstance.tail(log(), lines: 30) + "\n--- dovecot output ---\n" + PostfixInstance.tail(output, lines: 20)
    }

    // MARK: Private: configuration

    private func writeConfiguration(usernameFormat: String) throws {
        let fm = FileManager.default
        for directory in ["run", "state"] {
            try fm.createDirectory(atPath: "\(rootDirectory)/\(directory)", withIntermediateDirectories: true)
            chmod("\(rootDirectory)/\(directory)", 0o755)
        }
        let entries = users.sorted { $0.key < $1.key }.map { "\($0.key):{PLAIN}\($0.value)::::::" }
        try (entries.joined(separator: "\n") + "\n").write(toFile: usersPath, atomically: true, encoding: .utf8)
        // The passdb lookup runs in Dovecot's auth process, as user dovecot.
        chmod(usersPath, 0o644)
        let config = """
            # Private test Dovecot (VigieTestKit/DovecotInstance.swift): SASL for Postfix only.
            instance_name = \((rootDirectory as NSString).lastPathComponent)
            base_dir = \(rootDirectory)/run
            state_dir = \(rootDirectory)/state
            protocols =
            log_path = \(logPath)
            ssl = no
            # Plain TCP on loopback in tests; Postfix's smtpd_tls_auth_only guards AUTH.
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            auth_username_format = \(usernameFormat)
            # No 2 s pause after each failed login (the default), and no log noise.
            auth_failure_delay = 0
            auth_verbose = yes
            default_internal_user = dovecot
            default_login_user = dovenull
            passdb {
              driver = passwd-file
              args = scheme=PLAIN \(usersPath)
            }
            userdb {
              driver = static
              args = uid=dovecot gid=dovecot home=/nonexistent
            }
            # No authentication penalty: after a failed login Dovecot delays the next
            # attempts from the same address (2, 4, 8, then 15 s), and every test
            # comes from 127.0.0.1. Without its anvil socket the auth process skips it.
            service anvil {
              unix_listener anvil-auth-penalty {
                mode = 0
              }
            }
            service auth {
              unix_listener \(authSocketPath) {
                mode = 0660
                user = postfix
                group = postfix
              }
            }

            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    // MARK: Private: readiness

    /// Connects to the auth socket and does the client handshake of Dovecot's auth
    /// protocol (what Postfix does first): true once the server's "DONE" arrives.
    static func authHandshake(socketPath: String, timeout: TimeInterval = 2) -> Bool {
        let budget = Duration.milliseconds(Int64(timeout * 1000))
        let deadline = ContinuousClock.now + budget
        guard let fd = try? StreamSocket.connect(to: .unix(path: socketPath), timeout: budget) else { return false }
        defer { close(fd) }
        do {
            try StreamSocket.write(fd, Array("VERSION\t1\t2\nCPID\t\(getpid())\n".utf8), deadline: deadline)
            var received: [UInt8] = []
            while true {
                let chunk = try StreamSocket.read(fd, upTo: 4096, deadline: deadline)
                guard !chunk.isEmpty else { return false }
                received += chunk
                if String(decoding: received, as: UTF8.self).split(separator: "\n").contains("DONE") { return true }
            }
        } catch {
            return false
        }
    }

    // MARK: Private: watchdog

    /// A `sh` that blocks reading a pipe only this process holds; at EOF (this process
    /// is gone, however it ended) it stops Dovecot and removes the directory (lock held).
    /// It is given the master's pid (also its process group) rather than reading
    /// run/master.pid, which Dovecot writes only a moment after it starts.
    private func startWatchdog(masterPID: pid_t) {
        let keep = TestDirectory.keepRequested ? "1" : ""
        let script = """
            kill -TERM "$3" 2>/dev/null
            sleep 2
            kill -KILL -"$3" 2>/dev/null
            [ -n "$2" ] || rm -rf "$1"
            """
        watchdog = ParentDeathWatchdog(name: "vigie-dovecot-watchdog", script: script, arguments: [rootDirectory, keep, String(masterPID)])
    }

    /// Stops the watchdog, so it does not act (lock held).
    private func stopWatchdog() {
        watchdog?.stop()
        watchdog = nil
    }
}
