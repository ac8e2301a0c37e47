import VigieSockets
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Talks to the running daemon over its control socket.
public struct ControlClient: Sendable {
    public var socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    public enum Failure: Error, CustomStringConvertible {
        case notRunning(String)
        case permissionDenied(String)
        case protocolError(String)
        case refused(String)

        public var description: String {
            switch self {
            case .notRunning(let path): "vigie is not running (nothing listens on \(path)); start it with: systemctl start vigie"
            case .permissionDenied(let path): "permission denied on \(path): vigiectl is allowed to root and to the admin group set in vigie.toml (daemon.admin_group)"
            case .protocolError(let detail): "unexpected answer from vigie: \(detail)"
            case .refused(let message): message
            }
        }
    }

    /// Sends one request and returns the daemon's answer; a daemon-side error is thrown
    /// as `.refused` with the daemon's one-line message.
    public func send(_ request: ControlRequest) throws -> ControlResponse {
        let fd: Int32
        do {
            fd = try StreamSocket.connect(to: .unix(path: socketPath))
        } catch let failure {
            switch failure.code {
            case ENOENT, ECONNREFUSED: throw Failure.notRunning(socketPath)
            case EACCES, EPERM: throw Failure.permissionDenied(socketPath)
            default: throw Failure.protocolError(failure.description)
            }
        }
        defer { close(fd) }
        let body = try JSONEncoder().encode(request)
        guard StreamSocket.writeAll(fd, Array(body) + [10]) else { throw Failure.protocolError("could not send the request") }
        guard let answer = StreamSocket.readLine(fd), !answer.isEmpty else {
            throw Failure.protocolError("the daemon closed the connection without answering")
        }
        let response: ControlResponse
        do {
            response = try JSONDecoder().decode(ControlResponse.self, from: Data(answer))
        } catch {
            throw Failure.protocolError("\(error)")
        }
        if case .failure(let error) = response { throw Failure.refused(error) }
        return response
    }
}
