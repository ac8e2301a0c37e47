internal import CMilter
#if canImport(Glibc)
import Glibc
#endif

/// A milter served by libmilter: one per process (libmilter keeps its
/// registration in globals).
///
/// Three steps, in the order a daemon starts: `init` registers the filter with
/// libmilter, `open()` creates the socket (as root, before the daemon drops its
/// privileges, so a socket under Postfix's spool can be made), and `run(sessions:)`
/// serves, with the factory of the per-connection handlers that the daemon could
/// only build once unprivileged (its state, its policy). Nothing is bound late.
/// Diagnostics: libmilter logs its own socket errors through syslog; the errors
/// thrown here name the libmilter call that failed.
/// Known limitations: libmilter stops on SIGHUP as on SIGTERM (its signal thread
/// owns both), so configuration reload must go through another path.
public final class MilterServer: Sendable {
    public struct Configuration: Sendable {
        /// libmilter's socket syntax: `unix:/path` or `inet:PORT@HOST`.
        public var socket: String
        public var name: String
        public var stages: Set<MilterStage>
        /// Stages whose callback always answers `.continue`: negotiated as
        /// "no reply" (`SMFIP_NR_*`), which saves the MTA a round trip.
        public var noReplyStages: Set<MilterStage>
        public var actions: MilterActions
        /// Macros asked for per stage (`smfi_setsymlist`), replacing the MTA's defaults.
        public var macros: [MilterMacroStage: [String]]
        /// Seconds libmilter waits on the MTA before dropping a connection.
        public var timeout: Int32
        public var backlog: Int32

        public init(socket: String, name: String, stages: Set<MilterStage>, noReplyStages: Set<MilterStage> = [],
                    actions: MilterActions, macros: [MilterMacroStage: [String]] = [:], timeout: Int32 = 300,
                    backlog: Int32 = 128) {
            self.socket = socket
            self.name = name
            self.stages = stages
            self.noReplyStages = noReplyStages
            self.actions = actions
            self.macros = macros
            self.timeout = timeout
            self.backlog = backlog
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        try MilterRegistration.install(configuration: configuration)
    }

    /// Creates the listening socket (removing a stale unix socket first). The
    /// corresponding C functions are `smfi_setconn` and `smfi_opensocket`.
    public func open() throws {
        guard configuration.socket.withCString({ smfi_setconn(UnsafeMutablePointer(mutating: $0)) }) == MI_SUCCESS else {
            throw MilterError.callFailed("smfi_setconn", detail: "invalid socket \(configuration.socket)")
        }
        _ = smfi_settimeout(configuration.timeout)
        _ = smfi_setbacklog(configuration.backlog)
        guard smfi_opensocket(1) == MI_SUCCESS else {
            throw MilterError.callFailed("smfi_opensocket",
                                         detail: "cannot listen on \(configuration.socket): is the directory there and writable, or the port free?")
        }
    }

    /// Serves until libmilter is told to stop (SIGTERM, SIGINT, SIGHUP or `stop()`).
    /// The corresponding C function is `smfi_main`. Block those signals in every
    /// other thread before starting them, so libmilter's signal thread receives them.
    ///
    /// Stopping takes milliseconds rather than up to 5 s: libmilter's listener waits
    /// for a connection in a `poll()` of 5 s (`MI_CHK_TIME`) while holding the mutex
    /// that its signal thread needs to close the socket, so a SIGTERM used to wait
    /// for that poll to time out, and a restart meanwhile found the metrics port
    /// still taken. `StopWaker` notices the stop and interrupts the poll.
    ///
    /// - Parameter sessions: makes the handler of each new connection (at its first
    ///   callback), on libmilter's threads.
    public func run(sessions: @escaping @Sendable () -> any MilterSessionHandler) throws {
        try MilterRegistration.serve(sessions)
        let waker = StopWaker(listener: pthread_self())
        waker.start()
        defer { waker.finish() }
        guard smfi_main() == MI_SUCCESS else {
            throw MilterError.callFailed("smfi_main", detail: "libmilter stopped with an error (see syslog)")
        }
    }

    /// Asks libmilter to stop serving. The corresponding C function is `smfi_stop`.
    public static func stop() { _ = smfi_stop() }

    /// Blocks SIGHUP, SIGTERM and SIGINT in the calling thread (and the threads it
    /// starts afterwards), as libmilter expects of every thread but its own.
    public static func blockMilterSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGHUP)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// libmilter's version, e.g. "1.0.1".
    public static var libraryVersion: String {
        var major: UInt32 = 0, minor: UInt32 = 0, patch: UInt32 = 0
        _ = smfi_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}

public enum MilterError: Error, CustomStringConvertible {
    case callFailed(String, detail: String)
    case alreadyRegistered

    public var description: String {
        switch self {
        case .callFailed(let call, let detail): "\(call) failed: \(detail)"
        case .alreadyRegistered: "a milter is already registered in this process (libmilter allows one)"
        }
    }
}
