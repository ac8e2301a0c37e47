import Synchronization
import VigieCore

/// A group directory whose memberships a test can change, counting lookups so a
/// test can see the policy's cache at work (in the daemon each lookup may be LDAP).
final class MutableGroupDirectory: GroupDirectory {
    private let state: Mutex<(memberships: [AccountName: [String]], lookups: Int)>

    init(_ memberships: [AccountName: [String]] = [:]) {
        state = Mutex((memberships, 0))
    }

    func groups(of account: AccountName) -> [String] {
        state.withLock { state in
            state.lookups += 1
            return state.memberships[account] ?? []
        }
    }

    func set(_ account: AccountName, groups: [String]) {
        state.withLock { $0.memberships[account] = groups }
    }

    var lookups: Int { state.withLock { $0.lookups } }
}
