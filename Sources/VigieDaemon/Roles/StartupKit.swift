import Foundation
import Logging
import MilterTransport
import VigieConfig
#if canImport(Glibc)
import Glibc
#endif

/// What every role's start-up does the same way. Each role's composition
/// (`SubmissionRole`, `InboundRole`, `SignRole`) reads top to bottom in the order
/// things must happen:
///
/// 1. as root: register with libmilter and open every socket (the milter's, the
///    metrics endpoint's, the role's own) and read what only root may read;
/// 2. drop privileges to `[daemon] user`;
/// 3. build what the sessions use (state, policy, keys, resolver), as that user,
///    so that files it creates belong to it;
/// 4. the glue, then start the servers with it and serve until SIGTERM.
///
/// Nothing is bound late: a server that listens in step 1 is handed what it
/// answers with when it starts in step 4 (`MilterServer.run(sessions:)`,
/// `ControlServer.start(handler:)`, `MetricsServer.start(render:)`).
enum StartupKit {
    /// Step 1 for the milter: registers with libmilter and opens its socket, a unix
    /// one shared with Postfix (`[daemon] socket_group`).
    static func listenForPostfix(_ configuration: MilterServer.Configuration, on socket: MilterSocketAddress,
                                 daemon: DaemonSettings) throws -> MilterServer {
        let server = try MilterServer(configuration: configuration)
        try prepareSocketDirectory(socket: socket, daemon: daemon)
        try server.open()
        if case .unix(let path) = socket {
            try Privileges.shareSocket(path: path, owner: daemon.user, group: daemon.socketGroup)
        }
        return server
    }

    /// Step 1 for the metrics endpoint: nil when the role's `metrics_listen` is off.
    static func listenForMetrics(host: String?, port: Int?, logger: Logger) throws -> MetricsServer? {
        guard let host, let port else { return nil }
        return try MetricsServer(host: host, port: port, logger: logger)
    }

    /// The unix socket's directory (e.g. /var/spool/postfix/vigie) must exist and
    /// belong to the daemon user so it can be recreated on restart. A directory that
    /// already exists is left as its admin set it: it may be shared.
    private static func prepareSocketDirectory(socket: MilterSocketAddress, daemon: DaemonSettings) throws {
        guard case .unix(let path) = socket else { return }
        let directory = (path as NSString).deletingLastPathComponent
        guard !FileManager.default.fileExists(atPath: directory) else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if geteuid() == 0, let user = UnixUser.lookup(name: daemon.user) {
            chown(directory, user.uid, UnixUser.groupID(named: daemon.socketGroup) ?? user.gid)
            chmod(directory, 0o750)
        }
    }
}
