import Foundation
import Synchronization

/// Listens on `PREFIX lock-events` on a thread of its own, with a connection of its
/// own (a subscribed connection can do nothing else), and hands every lock and
/// unlock another host recorded to `handler`, so that it is in force here within a
/// second rather than at the next restart.
///
/// Pub/sub keeps nothing for a subscriber that is away: whatever was announced
/// while the connection was down is lost. So the handler is told `.subscribed`
/// after every (re)subscription, and must then reread `activeLocks()` from the
/// store; announcements only save waiting for that reread.
///
/// Diagnostics: `.disconnected` carries the error; the thread retries every
/// `retryInterval` until stopped. Known limitation: a message this Vigie cannot
/// decode (a newer Vigie's) is passed on as `.unreadable`, not applied.
public final class RedisLockSubscriber: Sendable {
    public enum Event: Sendable, Equatable {
        /// Subscribed (at start and after each reconnect): reread the locks in force.
        case subscribed
        /// A lock or unlock recorded by any host, this one included.
        case announced(RedisLockAnnouncement)
        /// A message on the channel that is not an announcement this Vigie reads.
        case unreadable([UInt8])
        /// The connection failed; the subscriber retries after `retryInterval`.
        case disconnected(RedisError)
    }

    private let options: RedisConnectionOptions
    private let channel: [UInt8]
    private let retryInterval: Duration
    private let handler: @Sendable (Event) -> Void
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    /// Signalled by the thread as it ends, so `stop()` can wait for it.
    private let finished = DispatchSemaphore(value: 0)

    /// How often the thread looks at the stop flag while no message comes.
    static let pollInterval = Duration.milliseconds(100)

    public init(options: RedisConnectionOptions, keyPrefix: String = "vigie:", retryInterval: Duration = .seconds(1),
                handler: @escaping @Sendable (Event) -> Void) {
        self.options = options
        channel = RedisKeys(prefix: keyPrefix).lockChannel
        self.retryInterval = retryInterval
        self.handler = handler
    }

    /// Starts the thread; once only.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "vigie-redis-locks"
        thread.start()
    }

    /// Stops the thread and waits for it (at most about `pollInterval` plus one
    /// connect timeout). The handler is not called after this returns.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        guard started.load(ordering: .acquiring) else { return }
        finished.wait()
        finished.signal()  // a second stop() returns at once
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func run() {
        var connection: RedisConnection?
        while !isStopping {
            do throws(RedisError) {
                if connection == nil {
                    let fresh = try RedisConnection(options: options)
                    try fresh.subscribe([channel])
                    connection = fresh
                    if isStopping { return }
                    handler(.subscribed)
                }
                guard let message = try connection?.nextMessage(timeout: Self.pollInterval) else { continue }
                if isStopping { return }
                handle(message)
            } catch {
                connection = nil
                if isStopping { return }
                handler(.disconnected(error))
                pause(retryInterval)
            }
        }
    }

    /// `["message", channel, payload]`; subscription confirmations and anything
    /// else are not for the handler.
    private func handle(_ message: RedisReply) {
        guard let parts = message.elements, parts.count == 3, parts[0].text == "message",
              let payload = parts[2].bytes else { return }
        if let announcement = try? JSONDecoder().decode(RedisLockAnnouncement.self, from: Data(payload)) {
            handler(.announced(announcement))
        } else {
            handler(.unreadable(payload))
        }
    }

    /// Sleeps in steps, so that `stop()` is not kept waiting for a whole retry interval.
    private func pause(_ duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !isStopping, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
