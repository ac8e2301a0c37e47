/// The messages an account had accepted recently, oldest first: the evidence kept
/// with a burst lock (their queue ids let an admin hold or purge them).
///
/// The oldest is kept inline and only the others in an array: most accounts have
/// one message in the burst window at a time, and an array per tracked account
/// (a heap block each) was about a fifth of the policy's memory per account
/// (benchmarks/ PolicyMemory).
struct RecentMessages: Sendable {
    private var oldest: RecentMessage?
    private var newer: [RecentMessage] = []

    var isEmpty: Bool { oldest == nil }
    var count: Int { oldest == nil ? 0 : 1 + newer.count }

    /// Every message kept, oldest first.
    var all: [RecentMessage] {
        guard let oldest else { return [] }
        return [oldest] + newer
    }

    /// Adds `message`, first forgetting what fell out of the `window` before it and
    /// the oldest beyond `capacity`.
    mutating func remember(_ message: RecentMessage, capacity: Int, window: Int64) {
        let cutoff = message.acceptedAt - window
        while let first = oldest, first.acceptedAt <= cutoff || count >= max(1, capacity) {
            oldest = newer.isEmpty ? nil : newer.removeFirst()
        }
        if oldest == nil { oldest = message } else { newer.append(message) }
    }

    /// Forgets everything and gives the array's memory back.
    mutating func removeAll() {
        oldest = nil
        newer = []
    }
}

/// A message accepted recently: its Postfix queue id and when.
struct RecentMessage: Sendable, Equatable {
    var queueID: String
    var acceptedAt: Int64
}
