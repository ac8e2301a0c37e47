// A private Postfix for end-to-end tests: its own config, queue, log and mailboxes in a
// temporary directory under /tmp, smtpd on a free 127.0.0.1 port, nothing chrooted.
//
// Layout of `rootDirectory` (/tmp/vigie-postfix-XXXXXX):
//   etc/      main.cf, master.cf, vmailbox (the configuration directory, `-c` for tools)
//   spool/    queue_directory (maildrop, incoming, active, deferred, hold, pid/master.pid)
//   data/     data_directory (owned by postfix)
//   mail/     virtual_mailbox_base: mail/<domain>/<user>/ Maildirs, mail/<domain>/catchall/
//   maillog   maillog_file (written by postlogd)
//   owner.pid the pid of the test process, used to clean up after a crashed run
//
// Mail to `domain` (default vigie.test) is delivered by virtual(8) to Maildirs readable
// with `mailbox(for:)`; listed users get their own Maildir, every other address lands in
// the catch-all one (told apart by Delivered-To). Mail to any other domain is queued for
// the smtp transport, which is in `defer_transports` and whose relayhost is a closed
// loopback port: it stays in the deferred queue, and even a flush never leaves the machine.
//
// A stopped or crashed test never leaves a master behind: `stop()` runs in deinit, and a
// small watchdog process (one per instance) stops Postfix and removes the directory as soon
// as the test process is gone, however it ended.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One message in the Postfix queue, as `postqueue -j` reports it.
public struct PostfixQueueEntry: Sendable, Decodable, Equatable, CustomStringConvertible {
    /// "maildrop", "incoming", "active", "deferred" or "hold".
    public let queueName: String
    public let queueID: String
    /// The envelope sender ("" for the null sender).
    public let sender: String
    public let recipients: [Recipient]
    public let arrivalTime: Int?
    public let messageSize: Int?
    public let forcedExpire: Bool?

    public struct Recipient: Sendable, Decodable, Equatable {
        public let address: String
        /// Why delivery was deferred, e.g. "deferred transport".
        public let delayReason: String?

        enum CodingKeys: String, CodingKey {
            case address
            case delayReason = "delay_reason"
        }
    }

    public var recipientAddresses: [String] { recipients.map(\.address) }
    public var isHeld: Bool { queueName == "hold" }

    public var description: String {
        "\(queueName)/\(queueID) from=<\(sender)> to=\(recipients.map { "<\($0.address)>" }.joined(separator: ","))"
    }

    enum CodingKeys: String, CodingKey {
        case queueName = "queue_name"
        case queueID = "queue_id"
        case sender, recipients
        case arrivalTime = "arrival_time"
        case messageSize = "message_size"
        case forcedExpire = "forced_expire"
    }
}

public final class PostfixInstance: @unchecked Sendable {
    /// Users that get their own Maildir unless the caller lists others.
    public static let defaultMailboxUsers = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "mallory", "postmaster", "root",
    ]

    public static let postfixCommand = "/usr/sbin/postfix"
    public static let postconfCommand = "/usr/sbin/postconf"
    public static let postqueueCommand = "/usr/sbin/postqueue"
    public static let postsuperCommand = "/usr/sbin/postsuper"
    public static let postcatCommand = "/usr/sbin/postcat"
    public static let postkickCommand = "/usr/sbin/postkick"
    public static let sendmailCommand = "/usr/sbin/sendmail"

    /// The local test domain (virtual mailbox domain), "vigie.test" by default.
    public let domain: String
    /// /tmp/vigie-postfix-XXXXXX
    public let rootDirectory: String
    /// The Postfix configuration directory (`postfix -c`, `sendmail -C`).
    public let configDirectory: String
    public let queueDirectory: String
    public let dataDirectory: String
    /// virtual_mailbox_base
    public let mailDirectory: String
    /// maillog_file
    public let logPath: String
    /// The port smtpd listens on, on 127.0.0.1.
    public var smtpPort: Int { lock.withLock { port } }
    /// The master.cf service name of that smtpd ("127.0.0.1:PORT"); "smtp/inet/..."
    /// keys in `extraMasterCF` are applied to it.
    public var smtpServiceName: String { "127.0.0.1:\(smtpPort)" }

    public let milters: String?
    public let nonSMTPMilters: String?
    public let extraMainCF: [String: String]
    public let extraMasterCF: [String: String]
    public let additionalServices: [String]
    public let mailboxUsers: [String]

    private let lock = NSLock()
    private var port: Int
    private var running = false
    private var pid: pid_t?
    private var removed = false
    private var watchdog: ParentDeathWatchdog?

    /// Writes the configuration into a fresh temporary directory; `start()` runs it.
    ///
    /// - Parameters:
    ///   - milters: value for `smtpd_milters` (e.g. "unix:/tmp/x/vigie.sock"), nil for none.
    ///   - nonSMTPMilters: value for `non_smtpd_milters` (the sendmail/pickup path).
    ///   - extraMainCF: main.cf settings, applied after (and overriding) the defaults.
    ///   - extraMasterCF: master.cf edits keyed "service/type/name": `name` is a field
    ///     (service, type, private, unprivileged, chroot, wakeup, process_limit, command)
    ///     set with `postconf -F`, or else a `-o name=value` service parameter set with
    ///     `postconf -P`. "smtp/inet/..." means the test smtpd. Example:
    ///     `["cleanup/unix/milter_macro_daemon_name": "ORIGINATING"]`.
    ///   - additionalServices: whole master.cf lines to add (e.g. a second smtpd).
    ///   - domain: the local virtual mailbox domain.
    ///   - mailboxUsers: local parts with their own Maildir; others go to the catch-all.
    public init(
        milters: String? = nil,
        nonSMTPMilters: String? = nil,
        extraMainCF: [String: String] = [:],
        extraMasterCF: [String: String] = [:],
        additionalServices: [String] = [],
        domain: String = "vigie.test",
        mailboxUsers: [String] = PostfixInstance.defaultMailboxUsers
    ) throws {
        PostfixInstance.cleanUpStaleInstancesOnce()
        self.milters = milters
        self.nonSMTPMilters = nonSMTPMilters
        self.extraMainCF = extraMainCF
        self.extraMasterCF = extraMasterCF
        self.additionalServices = additionalServices
        self.domain = domain.lowercased()
        self.mailboxUsers = mailboxUsers.map { $0.lowercased() }

        var template = Array("/tmp/vigie-postfix-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw HarnessError("mkdtemp /tmp/vigie-postfix-XXXXXX: \(POSIX.describe(errno: errno))")
        }
        rootDirectory = POSIX.string(fromCString: template)
        chmod(rootDirectory, 0o755)  // Postfix's unprivileged daemons must traverse it
        configDirectory = rootDirectory + "/etc"
        queueDirectory = rootDirectory + "/spool"
        dataDirectory = rootDirectory + "/data"
        mailDirectory = rootDirectory + "/mail"
        logPath = rootDirectory + "/maillog"
        port = 0
        do {
            port = try LoopbackPort.free()
            try writeConfiguration()
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

    /// True between a successful `start()` and `stop()`.
    public var isRunning: Bool { lock.withLock { running } }

    /// The pid of the master process (kept after `stop()` so a test can check it is gone).
    public var masterPID: pid_t? { lock.withLock { pid } }

    /// `postfix -c DIR start`. If the chosen port was taken meanwhile, retries on another.
    public func start() throws {
        try lock.withLock {
            guard !running else { return }
            guard !removed else { throw HarnessError("this PostfixInstance was stopped and removed; make a new one") }
            var lastFailure = ""
            for attempt in 1...3 {
                let result = try ProcessRunner.run(
                    PostfixInstance.postfixCommand, ["-c", configDirectory, "start"], timeout: 60)
                if result.succeeded, let masterPID = readMasterPID(), POSIX.isAlive(masterPID) {
                    pid = masterPID
                    running = true
                    startWatchdog()
                    return
                }
                lastFailure = "\(result)\n--- maillog ---\n\(PostfixInstance.tail(log(), lines: 30))"
                killLeftovers()
                pid = nil
                // The master's own "bind: Address already in use" is lost (postlogd is
                // not up yet when it dies), so check the port ourselves.
                let portTaken = !LoopbackPort.isFree(port)
                if portTaken { lastFailure += "\n(127.0.0.1:\(port) is in use by another process)" }
                guard portTaken, attempt < 3 else { break }
                let oldService = "127.0.0.1:\(port)"
                port = try LoopbackPort.free()
                try movePort(from: oldService)
            }
            throw HarnessError("private Postfix in \(rootDirectory) did not start:\n\(lastFailure)")
        }
    }

    /// Stops Postfix (SIGTERM to the master like `postfix stop`, then SIGKILL to the
    /// master's process group if anything survives) and removes the directory (kept if `VIGIE_KEEP_TEST_DIRS=1`).
    /// Safe to call more than once; also runs in deinit.
    public func stop() {
        lock.withLock {
            stopWatchdog()
            if running || pid != nil {
                if let masterPID = pid, POSIX.isAlive(masterPID) {
                    // What `postfix stop` does (SIGTERM to the master, which passes it on to
                    // its children), without its script's one-second polling steps.
                    kill(masterPID, SIGTERM)
                    _ = try? Wait.until("the Postfix master to exit", timeout: 5, interval: 0.02) {
                        !POSIX.isAlive(masterPID)
                    }
                }
                killLeftovers()
                running = false
            }
            if !removed {
                if TestDirectory.keepRequested {
                    FileHandle.standardError.write(Data("VigieTestKit: kept Postfix directory \(rootDirectory)\n".utf8))
                } else {
                    try? FileManager.default.removeItem(atPath: rootDirectory)
                }
                removed = true
            }
        }
    }

    /// Processes of this instance still alive (the master's process group). Empty after
    /// `stop()`.
    public func livingProcesses() -> [pid_t] {
        guard let masterPID = masterPID else { return [] }
        var alive: [pid_t] = []
        if POSIX.isAlive(masterPID) { alive.append(masterPID) }
        #if os(Linux)
        for member in POSIX.livingMembers(ofProcessGroup: masterPID) where member != masterPID {
            alive.append(member)
        }
        #endif
        return alive
    }

    /// `postfix -c DIR reload` (after changing main.cf or master.cf).
    public func reload() throws {
        try ProcessRunner.runChecked(PostfixInstance.postfixCommand, ["-c", configDirectory, "reload"], timeout: 30)
    }

    // MARK: Configuration

    /// Runs `postconf -c DIR <arguments>` and returns its standard output.
    @discardableResult
    public func postconf(_ arguments: String...) throws -> String {
        try postconf(arguments)
    }

    @discardableResult
    public func postconf(_ arguments: [String]) throws -> String {
        let output = try ProcessRunner.runChecked(
            PostfixInstance.postconfCommand, ["-c", configDirectory] + arguments, timeout: 30
        ).stdout
        backdateConfigurationFiles()
        return output
    }

    /// Postfix refuses to read a main.cf (or a texthash/regexp table) modified within the
    /// last second: every Postfix program first sleeps in 300 ms steps until the file is
    /// older (about 2 s for a fresh file). Setting the mtimes a minute back avoids that.
    /// Call this after editing a file in `configDirectory` yourself.
    public func backdateConfigurationFiles() {
        let past = Date().addingTimeInterval(-60)
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: configDirectory) else { return }
        for name in names {
            try? fm.setAttributes([.modificationDate: past], ofItemAtPath: "\(configDirectory)/\(name)")
        }
    }

    /// The value of one main.cf parameter (`postconf -h name`).
    public func parameter(_ name: String) throws -> String {
        try postconf("-h", name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sets main.cf parameters and reloads if running.
    public func setMainCF(_ settings: [String: String]) throws {
        guard !settings.isEmpty else { return }
        try postconf(settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        if isRunning { try reload() }
    }

    // MARK: Submitting mail

    /// An SMTP connection to the test smtpd (greeting already read).
    public func smtpClient(timeout: TimeInterval = 10) throws -> SMTPClient {
        try SMTPClient(port: smtpPort, timeout: timeout)
    }

    /// One SMTP transaction on a fresh connection (see `SMTPClient.send`), then QUIT.
    public func sendSMTP(
        from sender: String,
        to recipients: [String],
        subject: String = "Vigie test message",
        body: String = "Test message.\n",
        headers: [String] = [],
        login: String? = nil,
        xclient: KeyValuePairs<String, String> = [:],
        timeout: TimeInterval = 10
    ) throws -> SMTPSendResult {
        try SMTPClient.send(
            port: smtpPort, from: sender, to: recipients, subject: subject, body: body,
            headers: headers, login: login, xclient: xclient, timeout: timeout)
    }

    /// Local submission: `sendmail -C DIR -i -f FROM [extra] -- TO...` with `body` (the
    /// whole message text: headers are optional, Postfix adds the missing ones) on standard
    /// input, then a pickup kick so the message does not wait for pickup's 60 s poll.
    /// This path goes pickup -> cleanup and runs `non_smtpd_milters`. sendmail exits 0 even
    /// if a milter later rejects the message (the verdict comes as a bounce).
    @discardableResult
    public func sendmail(
        from sender: String,
        to recipients: [String],
        body: String,
        extraArguments: [String] = []
    ) throws -> ProcessResult {
        let result = try ProcessRunner.run(
            PostfixInstance.sendmailCommand,
            ["-C", configDirectory, "-i", "-f", sender] + extraArguments + ["--"] + recipients,
            stdin: body, timeout: 30)
        try? kickPickup()
        return result
    }

    @discardableResult
    public func sendmail(from sender: String, to recipient: String, body: String) throws -> ProcessResult {
        try sendmail(from: sender, to: [recipient], body: body)
    }

    /// Wakes pickup so it scans maildrop now (`postkick -c DIR public pickup W`).
    public func kickPickup() throws {
        try ProcessRunner.runChecked(
            PostfixInstance.postkickCommand, ["-c", configDirectory, "public", "pickup", "W"], timeout: 10)
    }

    /// `postqueue -c DIR -f`: attempt delivery of everything queued now (outside mail is
    /// re-deferred: its relay is a closed loopback port).
    public func flushQueue() throws {
        try ProcessRunner.runChecked(PostfixInstance.postqueueCommand, ["-c", configDirectory, "-f"], timeout: 30)
    }

    // MARK: The queue

    /// Everything in the queue (`postqueue -c DIR -j`), including hold and maildrop.
    public func queue() throws -> [PostfixQueueEntry] {
        let result = try ProcessRunner.runChecked(
            PostfixInstance.postqueueCommand, ["-c", configDirectory, "-j"], timeout: 30)
        let decoder = JSONDecoder()
        return try result.stdout.split(separator: "\n").map { line in
            do {
                return try decoder.decode(PostfixQueueEntry.self, from: Data(line.utf8))
            } catch {
                throw HarnessError("cannot parse postqueue -j line \(line.debugDescription): \(error)")
            }
        }
    }

    /// Queue ids in the hold queue (e.g. quarantined by a milter).
    public func heldQueueIDs() throws -> [String] {
        try queue().filter(\.isHeld).map(\.queueID)
    }

    /// Polls `queue()` until `predicate` holds; returns that queue. Throws on timeout
    /// with the last queue and the log tail.
    @discardableResult
    public func waitForQueue(
        timeout: TimeInterval = 10,
        until predicate: ([PostfixQueueEntry]) throws -> Bool
    ) throws -> [PostfixQueueEntry] {
        var last: [PostfixQueueEntry] = []
        do {
            return try Wait.forValue("the queue condition", timeout: timeout, interval: 0.1) { () -> [PostfixQueueEntry]? in
                last = try queue()
                return try predicate(last) ? last : nil
            }
        } catch let error as HarnessError {
            throw HarnessError("\(error.message)\nqueue: \(last)\n--- maillog tail ---\n\(PostfixInstance.tail(log(), lines: 20))")
        }
    }

    /// Waits for a queue entry matching `predicate` and returns it.
    @discardableResult
    public func waitForQueueEntry(
        timeout: TimeInterval = 10,
        where predicate: @escaping (PostfixQueueEntry) -> Bool
    ) throws -> PostfixQueueEntry {
        let entries = try waitForQueue(timeout: timeout) { $0.contains(where: predicate) }
        return entries.first(where: predicate)!
    }

    /// `postsuper -c DIR <arguments>`, e.g. `postsuper("-H", id)` to release a held message.
    @discardableResult
    public func postsuper(_ arguments: String...) throws -> ProcessResult {
        try ProcessRunner.runChecked(PostfixInstance.postsuperCommand, ["-c", configDirectory] + arguments, timeout: 30)
    }

    /// Header and body of a queued message (`postcat -c DIR -h -b -q ID`).
    public func queuedMessage(_ queueID: String) throws -> String {
        try ProcessRunner.runChecked(
            PostfixInstance.postcatCommand, ["-c", configDirectory, "-h", "-b", "-q", queueID], timeout: 30
        ).stdout
    }

    /// Envelope, header and body of a queued message (`postcat -c DIR -e -h -b -q ID`).
    public func queuedMessageWithEnvelope(_ queueID: String) throws -> String {
        try ProcessRunner.runChecked(
            PostfixInstance.postcatCommand, ["-c", configDirectory, "-e", "-h", "-b", "-q", queueID], timeout: 30
        ).stdout
    }

    // MARK: Delivered mail

    /// Messages delivered to `address` (in `domain`), oldest first, as full texts
    /// (with Return-Path, X-Original-To and Delivered-To added by virtual(8)).
    public func mailbox(for address: String) -> [String] {
        let lowered = address.lowercased()
        guard let at = lowered.lastIndex(of: "@") else { return [] }
        let local = String(lowered[..<at])
        let domainPart = String(lowered[lowered.index(after: at)...])
        let domainDirectory = "\(mailDirectory)/\(domainPart)"
        var files: [(path: String, date: Date)] = []
        if mailboxUsers.contains(local) && domainPart == domain {
            files += PostfixInstance.maildirFiles("\(domainDirectory)/\(local)")
        }
        for file in PostfixInstance.maildirFiles("\(domainDirectory)/catchall") {
            guard let text = PostfixInstance.readText(file.path),
                PostfixInstance.deliveredTo(text)?.lowercased() == lowered
            else { continue }
            files.append(file)
        }
        files.sort { ($0.date, $0.path) < ($1.date, $1.path) }
        return files.compactMap { PostfixInstance.readText($0.path) }
    }

    /// Waits until a message to `address` satisfies `predicate`; returns it.
    @discardableResult
    public func waitForMail(
        to address: String,
        timeout: TimeInterval = 10,
        matching predicate: (String) -> Bool = { _ in true }
    ) throws -> String {
        do {
            return try Wait.forValue("mail to \(address)", timeout: timeout, interval: 0.1) {
                mailbox(for: address).first(where: predicate)
            }
        } catch let error as HarnessError {
            throw HarnessError(
                "\(error.message)\nmailbox has \(mailbox(for: address).count) message(s)\n--- maillog tail ---\n\(PostfixInstance.tail(log(), lines: 20))"
            )
        }
    }

    /// Waits for a message to `address` whose text contains `text`.
    @discardableResult
    public func waitForMail(to address: String, containing text: String, timeout: TimeInterval = 10) throws -> String {
        try waitForMail(to: address, timeout: timeout) { $0.contains(text) }
    }

    // MARK: The log

    /// The whole maillog so far.
    public func log() -> String {
        PostfixInstance.readText(logPath) ?? ""
    }

    /// Log lines containing `text`.
    public func logLines(containing text: String) -> [String] {
        log().split(separator: "\n").filter { $0.contains(text) }.map(String.init)
    }

    /// Waits until some log line contains `text`; returns the first such line.
    @discardableResult
    public func waitForLog(containing text: String, timeout: TimeInterval = 10) throws -> String {
        do {
            return try Wait.forValue("a maillog line containing \"\(text)\"", timeout: timeout, interval: 0.1) {
                logLines(containing: text).first
            }
        } catch let error as HarnessError {
            throw HarnessError("\(error.message)\n--- maillog tail ---\n\(PostfixInstance.tail(log(), lines: 20))")
        }
    }

    /// Config location, queue and log tail: for test failure messages.
    public func diagnostics() -> String {
        let queueText = (try? queue().map(\.description).joined(separator: "\n")) ?? "(postqueue failed)"
        return "Postfix in \(rootDirectory), smtpd 127.0.0.1:\(smtpPort)\n--- queue ---\n\(queueText)\n--- maillog tail ---\n\(PostfixInstance.tail(log(), lines: 40))"
    }

    // MARK: Private: configuration files

    private func writeConfiguration() throws {
        let fm = FileManager.default
        guard let postfixUser = getpwnam("postfix") else {
            throw HarnessError("no 'postfix' user: is Postfix installed? (apt-get install postfix)")
        }
        let uid = postfixUser.pointee.pw_uid
        let gid = postfixUser.pointee.pw_gid
        guard fm.isReadableFile(atPath: "/etc/postfix/master.cf") else {
            throw HarnessError("/etc/postfix/master.cf missing: is Postfix installed?")
        }
        for directory in [configDirectory, queueDirectory, dataDirectory, mailDirectory, "\(mailDirectory)/\(domain)"] {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            chmod(directory, 0o755)
        }
        for directory in [dataDirectory, mailDirectory, "\(mailDirectory)/\(domain)"] {
            chown(directory, uid, gid)
        }
        chmod(dataDirectory, 0o700)
        try "\(getpid())\n".write(toFile: "\(rootDirectory)/owner.pid", atomically: true, encoding: .utf8)

        var mailboxMap = mailboxUsers.map { "\($0)@\(domain)\t\(domain)/\($0)/" }
        mailboxMap.append("@\(domain)\t\(domain)/catchall/")
        try (mailboxMap.joined(separator: "\n") + "\n").write(
            toFile: "\(configDirectory)/vmailbox", atomically: true, encoding: .utf8)

        var settings: [(String, String)] = [
            ("compatibility_level", "3.6"),
            ("queue_directory", queueDirectory),
            ("data_directory", dataDirectory),
            ("maillog_file", logPath),
            ("maillog_file_prefixes", rootDirectory),
            ("myhostname", "mail.\(domain)"),
            ("mydomain", domain),
            ("myorigin", "$mydomain"),
            // The test domain is a virtual mailbox domain; a domain must not be in both.
            ("mydestination", ""),
            ("local_transport", "error:5.1.1 local(8) delivery is disabled in the test instance"),
            ("alias_maps", ""),
            ("alias_database", ""),
            ("local_recipient_maps", ""),
            ("inet_interfaces", "127.0.0.1"),
            ("inet_protocols", "ipv4"),
            ("mynetworks", "127.0.0.0/8"),
            ("smtpd_authorized_xclient_hosts", "127.0.0.0/8"),
            ("virtual_mailbox_domains", domain),
            ("virtual_mailbox_base", mailDirectory),
            ("virtual_mailbox_maps", "texthash:\(configDirectory)/vmailbox"),
            ("virtual_uid_maps", "static:\(uid)"),
            ("virtual_gid_maps", "static:\(gid)"),
            ("virtual_minimum_uid", "1"),
            // Outside mail: queued, never sent. smtp is a deferred transport, and its
            // relay is a closed loopback port in case someone flushes the queue.
            ("defer_transports", "smtp"),
            ("relayhost", "[127.0.0.1]:1"),
            ("smtp_dns_support_level", "disabled"),
            ("smtp_connect_timeout", "2s"),
            // Fast tests.
            ("smtpd_error_sleep_time", "0"),
            ("smtpd_soft_error_limit", "1000"),
            ("smtpd_hard_error_limit", "1000"),
            ("in_flow_delay", "0"),
            ("queue_run_delay", "5s"),
            ("minimal_backoff_time", "5s"),
            ("maximal_backoff_time", "30s"),
            ("biff", "no"),
            ("append_dot_mydomain", "no"),
        ]
        if let milters { settings.append(("smtpd_milters", milters)) }
        if let nonSMTPMilters { settings.append(("non_smtpd_milters", nonSMTPMilters)) }
        for (key, value) in extraMainCF.sorted(by: { $0.key < $1.key }) {
            if let index = settings.firstIndex(where: { $0.0 == key }) {
                settings[index].1 = value
            } else {
                settings.append((key, value))
            }
        }
        let mainCF = settings.map { key, value in
            "\(key) = \(value.replacingOccurrences(of: "\n", with: " "))"
        }.joined(separator: "\n") + "\n"
        try mainCF.write(toFile: "\(configDirectory)/main.cf", atomically: true, encoding: .utf8)

        var masterCF = try String(contentsOfFile: "/etc/postfix/master.cf", encoding: .utf8)
        if !masterCF.hasSuffix("\n") { masterCF += "\n" }
        for line in additionalServices { masterCF += line + "\n" }
        try masterCF.write(toFile: "\(configDirectory)/master.cf", atomically: true, encoding: .utf8)

        try postconf("-F", "*/*/chroot = n")
        try postconf("-MX", "smtp/inet")
        try postconf("-Me", "127.0.0.1:\(port)/inet = 127.0.0.1:\(port) inet n - n - - smtpd")
        // maillog_file needs the postlogd service.
        if try postconf("-M", "postlog/unix-dgram").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            try postconf("-Me", "postlog/unix-dgram = postlog unix-dgram n - n - 1 postlogd")
        }
        for (key, value) in extraMasterCF.sorted(by: { $0.key < $1.key }) {
            try applyMasterEdit(key: key, value: value)
        }
        backdateConfigurationFiles()
    }

    private static let masterFields: Set<String> = [
        "service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit", "command",
    ]

    private func applyMasterEdit(key: String, value: String) throws {
        var parts = key.split(separator: "/", maxSplits: 2).map(String.init)
        guard parts.count == 3 else {
            throw HarnessError("extraMasterCF key \(key.debugDescription) is not service/type/name")
        }
        if parts[0] == "smtp" && parts[1] == "inet" { parts[0] = "127.0.0.1:\(port)" }
        let target = parts.joined(separator: "/")
        if PostfixInstance.masterFields.contains(parts[2]) {
            try postconf("-F", "\(target) = \(value)")
        } else {
            try postconf("-P", "\(target)=\(value)")
        }
    }

    /// Renames the test smtpd service after a port change (lock held).
    private func movePort(from oldService: String) throws {
        try postconf("-MX", "\(oldService)/inet")
        try postconf("-Me", "127.0.0.1:\(port)/inet = 127.0.0.1:\(port) inet n - n - - smtpd")
        for (key, value) in extraMasterCF.sorted(by: { $0.key < $1.key }) where key.hasPrefix("smtp/inet/") {
            try applyMasterEdit(key: key, value: value)
        }
    }

    // MARK: Private: processes

    private func readMasterPID() -> pid_t? {
        guard let text = PostfixInstance.readText("\(queueDirectory)/pid/master.pid") else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// SIGKILL to whatever is left of the master's process group (lock held).
    private func killLeftovers() {
        guard let masterPID = pid ?? readMasterPID() else { return }
        if pid == nil { pid = masterPID }
        func leftovers() -> Bool {
            #if os(Linux)
            return POSIX.isAlive(masterPID) || !POSIX.livingMembers(ofProcessGroup: masterPID).isEmpty
            #else
            return POSIX.isAlive(masterPID)
            #endif
        }
        // Children exit by themselves shortly after the master; give them a moment.
        _ = try? Wait.until("Postfix processes to exit", timeout: 2, interval: 0.02) { !leftovers() }
        guard leftovers() else { return }
        kill(-masterPID, SIGKILL)
        kill(masterPID, SIGKILL)
        _ = try? Wait.until("Postfix processes to die", timeout: 5, interval: 0.05) { !leftovers() }
    }

    /// A `sh` that blocks reading a pipe only this process holds; at EOF (this process
    /// is gone, however it ended) it stops Postfix and removes the directory (lock held).
    private func startWatchdog() {
        let keep = TestDirectory.keepRequested ? "1" : ""
        let script = """
            pid=$(tr -dc 0-9 < "$1/spool/pid/master.pid" 2>/dev/null)
            if [ -n "$pid" ]; then
                kill -TERM "$pid" 2>/dev/null
                sleep 2
                kill -KILL -"$pid" 2>/dev/null
                kill -KILL "$pid" 2>/dev/null
            fi
            [ -n "$2" ] || rm -rf "$1"
            """
        watchdog = ParentDeathWatchdog(name: "vigie-postfix-watchdog", script: script, arguments: [rootDirectory, keep])
    }

    /// Stops the watchdog, so it does not act (lock held).
    private func stopWatchdog() {
        watchdog?.stop()
        watchdog = nil
    }

    // MARK: Private: stale instances from crashed runs

    private static let staleCleanup = NSLock()
    nonisolated(unsafe) private static var staleCleanupDone = false

    /// Removes /tmp/vigie-postfix-* directories whose test process is gone, killing their
    /// master if it still runs (normally the watchdog did that already).
    private static func cleanUpStaleInstancesOnce() {
        staleCleanup.lock()
        defer { staleCleanup.unlock() }
        guard !staleCleanupDone else { return }
        staleCleanupDone = true
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for entry in entries where entry.hasPrefix("vigie-postfix-") {
            let root = "/tmp/\(entry)"
            guard let ownerText = readText("\(root)/owner.pid"),
                let owner = pid_t(ownerText.trimmingCharacters(in: .whitespacesAndNewlines)),
                owner != getpid(), !POSIX.isAlive(owner)
            else { continue }
            if let text = readText("\(root)/spool/pid/master.pid"),
                let master = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                POSIX.isAlive(master), isPostfixMaster(master, queueDirectory: "\(root)/spool")
            {
                kill(-master, SIGKILL)
                kill(master, SIGKILL)
            }
            if !TestDirectory.keepRequested {
                try? FileManager.default.removeItem(atPath: root)
            }
        }
    }

    /// Whether `pid` is a Postfix master working in `queueDirectory` (guards against pid reuse).
    private static func isPostfixMaster(_ pid: pid_t, queueDirectory: String) -> Bool {
        #if os(Linux)
        let comm = readText("/proc/\(pid)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines)
        let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
        return comm == "master" && cwd == queueDirectory
        #else
        return false
        #endif
    }

    // MARK: Private: files

    static func readText(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func tail(_ text: String, lines count: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }

    /// Files in a Maildir's new/ and cur/ with their modification dates.
    static func maildirFiles(_ maildir: String) -> [(path: String, date: Date)] {
        var files: [(path: String, date: Date)] = []
        for sub in ["new", "cur"] {
            let directory = "\(maildir)/\(sub)"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names where !name.hasPrefix(".") {
                let path = "\(directory)/\(name)"
                let date = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
                files.append((path, date))
            }
        }
        return files
    }

    /// The first Delivered-To header value of a delivered message.
    static func deliveredTo(_ message: String) -> String? {
        for line in message.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty || line == "\r" { break }
            if line.lowercased().hasPrefix("delivered-to:") {
                return line.dropFirst("delivered-to:".count).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return nil
    }
}
