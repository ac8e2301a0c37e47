import VigieSockets
import Foundation
import Logging
import VigieControl
import VigieCore
#if canImport(Glibc)
import Glibc
#endif

/// The control socket `vigiectl` talks to: one JSON request and one JSON answer
/// per connection.
///
/// Security: the socket file is mode 0660, group `daemon.admin_group`; on top of
/// that every connection's peer credentials (SO_PEERCRED) are checked, so a
/// mis-set permission still cannot let an ordinary member unlock an account. The
/// admin's login, taken from those credentials, is what the audit trail records.
final class ControlServer: @unchecked Sendable {
    // @unchecked: `listener` is written once in init and only read afterwards; the
    // serving thread owns every connection descriptor it accepts.
    private let listener: Int32
    private let path: String
    private let adminGroupID: gid_t?
    private let logger: Logger

    /// Listens (as root: the socket's directory may need creating, and its owner
    /// and group setting); nothing is answered before `start(handler:)`.
    init(path: String, adminGroup: String, owner: String, logger: Logger) throws {
        self.path = path
        self.logger = logger
        self.adminGroupID = UnixUser.groupID(named: adminGroup)
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if let user = UnixUser.lookup(name: owner), geteuid() == 0 { chown(directory, user.uid, user.gid) }
        }
        self.listener = try StreamSocket.listen(on: .unix(path: path), backlog: 16)
        if geteuid() == 0 {
            let uid = UnixUser.lookup(name: owner)?.uid ?? 0
            chown(path, uid, adminGroupID ?? 0)
        }
        chmod(path, 0o660)
    }

    /// Serves on a dedicated thread until the process exits. A `vigiectl` that
    /// connected earlier waits in the listen backlog until then.
    ///
    /// - Parameter handle: answers one request, given the admin's login.
    func start(handler handle: @escaping @Sendable (ControlRequest, String) -> ControlResponse) {
        let thread = Thread { [self] in serve(handle) }
        thread.name = "vigie-control"
        thread.start()
    }

    private func serve(_ handle: (ControlRequest, String) -> ControlResponse) {
        while true {
            guard let connection = StreamSocket.accept(listener) else {
                logger.error("control socket accept failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                sleep(1)
                continue
            }
            StreamSocket.setTimeouts(connection, receive: .seconds(10), send: .seconds(10))
            respond(on: connection, handle)
            close(connection)
        }
    }

    private func respond(on connection: Int32, _ handle: (ControlRequest, String) -> ControlResponse) {
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return }
        let actor = UnixUser.lookup(uid: credentials.uid)?.name ?? "uid \(credentials.uid)"
        let response: ControlResponse
        if !isAllowed(uid: credentials.uid) {
            logger.warning("control request refused", metadata: ["uid": "\(credentials.uid)", "user": "\(actor)"])
            response = .failure("permission denied: \(actor) is neither root nor in the admin group")
        } else if let line = StreamSocket.readLine(connection, limit: 1 << 20) {
            do {
                response = handle(try JSONDecoder().decode(ControlRequest.self, from: Data(line)), actor)
            } catch let version as ControlProtocol.UnsupportedVersion {
                response = .failure("\(version)")
            } catch {
                response = .failure("malformed request")
            }
        } else {
            response = .failure("malformed request")
        }
        guard let body = try? JSONEncoder().encode(response) else { return }
        _ = StreamSocket.writeAll(connection, Array(body) + [10])
    }

    private func isAllowed(uid: uid_t) -> Bool {
        if uid == 0 || uid == geteuid() { return true }
        guard let adminGroupID else { return false }
        return UnixUser.isMember(uid: uid, ofGroup: adminGroupID)
    }
}

/// Linux's `struct ucred` (SO_PEERCRED), which Glibc exposes only under _GNU_SOURCE.
struct PeerCredentials {
    var pid: pid_t = 0
    var uid: uid_t = 0
    var gid: gid_t = 0
}
