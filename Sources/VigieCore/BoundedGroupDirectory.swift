import Dispatch
import Foundation
import Synchronization

/// A group directory whose answers come within a deadline, or not at all.
///
/// Why: NSS lookups (`getpwnam_r`, `getgrouplist`) block on the directory server
/// when groups come from LDAP through nslcd or sssd, with no timeout Vigie
/// controls. A milter callback that waits past Postfix's `milter_command_timeout`
/// (30 s by default) makes Postfix give up on the whole session; one that waits
/// 20 s holds a submission and a libmilter thread for 20 s per message. So each
/// lookup runs on a thread of its own and the caller waits at most `timeout`
/// (`[daemon] decision_timeout`); past it the lookup counts as failed and the
/// policy refuses the message for now (`Verdict.undecided`), never guesses.
///
/// A lookup that outlasts its caller finishes in the background and its answer is
/// dropped: the policy caches only answers it got in time, so the next message asks
/// again. At most `maximumPending` lookups may be running at once; beyond that a
/// lookup fails at once, so a dead directory server cannot make the daemon start a
/// thread per message.
public final class BoundedGroupDirectory: GroupDirectory {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case timedOut(Duration)
        case tooManyPending(Int)

        public var description: String {
            switch self {
            case .timedOut(let bound): "the group directory did not answer within \(bound.humanReadable)"
            case .tooManyPending(let count): "\(count) group lookups are already waiting on the directory"
            }
        }
    }

    let directory: any GroupDirectory
    public let timeout: Duration
    public let maximumPending: Int
    private let pending = Atomic<Int>(0)

    public init(_ directory: any GroupDirectory, timeout: Duration, maximumPending: Int = 32) {
        self.directory = directory
        self.timeout = timeout
        self.maximumPending = maximumPending
    }

    /// Lookups started and not finished (some may have outlived their caller).
    public var pendingLookups: Int { pending.load(ordering: .relaxed) }

    public func groups(of account: AccountName) throws -> [String] {
        guard pending.add(1, ordering: .relaxed).newValue <= maximumPending else {
            pending.subtract(1, ordering: .relaxed)
            throw Failure.tooManyPending(maximumPending)
        }
        let answer = Answer()
        Thread.detachNewThread { [self] in
            answer.set(Result { try directory.groups(of: account) })
            pending.subtract(1, ordering: .relaxed)
        }
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        guard answer.done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success,
              let result = answer.result else {
            throw Failure.timedOut(timeout)
        }
        return try result.get()
    }

    /// Where the lookup thread leaves its answer.
    private final class Answer: Sendable {
        let done = DispatchSemaphore(value: 0)
        private let value = Mutex<Result<[String], any Error>?>(nil)
        var result: Result<[String], any Error>? { value.withLock { $0 } }
        func set(_ result: Result<[String], any Error>) {
            value.withLock { $0 = result }
            done.signal()
        }
    }
}
