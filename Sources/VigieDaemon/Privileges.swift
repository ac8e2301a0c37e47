import VigieCore
#if canImport(Glibc)
import Glibc
#endif

/// Dropping root once the sockets that need it are open.
enum Privileges {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Becomes `userName` (its primary group and supplementary groups). Does nothing
    /// when not running as root, or when asked to stay root.
    static func drop(to userName: String) throws {
        guard geteuid() == 0, userName != "root" else { return }
        guard let user = UnixUser.lookup(name: userName) else {
            throw Failure(description: "daemon.user: no such user '\(userName)'; create it (adduser --system \(userName)) or change daemon.user")
        }
        guard initgroups(user.name, user.gid) == 0, setgid(user.gid) == 0, setuid(user.uid) == 0 else {
            throw Failure(description: "could not switch to user \(userName): \(String(cString: strerror(errno)))")
        }
        // Make sure root cannot be regained.
        guard setuid(0) != 0 else { throw Failure(description: "still able to regain root after dropping privileges") }
    }

    /// Gives a socket file to `owner` and `group` with mode 0660 (root only).
    static func shareSocket(path: String, owner: String, group: String) throws {
        guard geteuid() == 0 else { return }
        let uid = UnixUser.lookup(name: owner)?.uid ?? 0
        guard let gid = UnixUser.groupID(named: group) else {
            throw Failure(description: "no such group '\(group)' for \(path); create it or change the setting")
        }
        guard chown(path, uid, gid) == 0, chmod(path, 0o660) == 0 else {
            throw Failure(description: "cannot set owner/mode of \(path): \(String(cString: strerror(errno)))")
        }
    }
}
