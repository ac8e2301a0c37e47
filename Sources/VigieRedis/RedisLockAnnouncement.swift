/// What the store publishes on `PREFIX lock-events` when a lock or an unlock is recorded,
/// so that every host can apply it within a second instead of at its next restart.
///
/// JSON, written by the store's Lua scripts (`cjson.encode`) in the same atomic
/// step as the change: `{"event":"lock","id":12,"account":"alice"}`. A subscriber
/// reads the lock itself from the store; the message only says which one changed.
public struct RedisLockAnnouncement: Sendable, Equatable, Codable {
    public enum Event: String, Sendable, Codable {
        case lock, unlock
    }
    public var event: Event
    public var id: Int64
    public var account: String

    public init(event: Event, id: Int64, account: String) {
        self.event = event
        self.id = id
        self.account = account
    }
}
