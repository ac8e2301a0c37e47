import VigieCore
#if canImport(Glibc)
import Glibc
#endif

/// Unix group memberships through NSS (`getpwnam_r` + `getgrouplist`), so groups
/// from LDAP via nslcd/sssd work like local ones.
///
/// Blocking: may wait on the directory server. The policy calls it outside its
/// locks and caches the answer per account (`limits.group_cache`).
public struct NSSGroupDirectory: GroupDirectory {
    public init() {}

    public func groups(of account: AccountName) -> [String] {
        guard let user = UnixUser.lookup(name: account.value) else { return [] }
        return UnixUser.groupNames(of: user.name, primaryGroup: user.gid)
    }
}

/// A Unix account as NSS knows it.
public struct UnixUser: Sendable {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t

    public static func lookup(name: String) -> UnixUser? {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(name, &record, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return UnixUser(name: String(cString: record.pw_name), uid: record.pw_uid, gid: record.pw_gid)
    }

    public static func lookup(uid: uid_t) -> UnixUser? {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &record, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return UnixUser(name: String(cString: record.pw_name), uid: record.pw_uid, gid: record.pw_gid)
    }

    /// The gid of a group name, or nil when NSS does not know it.
    public static func groupID(named name: String) -> gid_t? {
        var record = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65536)
        guard getgrnam_r(name, &record, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return record.gr_gid
    }

    static func groupName(of gid: gid_t) -> String? {
        var record = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65536)
        guard getgrgid_r(gid, &record, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return String(cString: record.gr_name)
    }

    static func groupIDs(of name: String, primaryGroup: gid_t) -> [gid_t] {
        var count: Int32 = 64
        var ids = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(name, primaryGroup, &ids, &count) < 0 {
            ids = [gid_t](repeating: 0, count: Int(count) * 2)
            count = Int32(ids.count)
            if count > 65536 { break }
        }
        return Array(ids.prefix(Int(max(0, count))))
    }

    static func groupNames(of name: String, primaryGroup: gid_t) -> [String] {
        groupIDs(of: name, primaryGroup: primaryGroup).compactMap(groupName(of:))
    }

    /// Whether the user with `uid` is in group `gid` (primary or supplementary).
    public static func isMember(uid: uid_t, ofGroup gid: gid_t) -> Bool {
        guard let user = lookup(uid: uid) else { return false }
        return user.gid == gid || groupIDs(of: user.name, primaryGroup: user.gid).contains(gid)
    }
}
