/// The messages an account had accepted recently, oldest first: the evidence kept
/// with a burst lock (their queue ids let an admin hold or purge them).
///
/// The oldest is kept inline and only the others in an array: most accounts have
/// one message in the burst window at a time, and an array per tracked account
/// (a heap block each) was about a fifth of the policy's memory per account
/// (benchmarks/ PolicyMemory).
///
/// A busy account at capacity drops its oldest message on every new one: the array
/// is consumed from `head` and compacted once half of it is spent, so that costs no
/// shifting of the whole array per message.
struct RecentMessages: Sendable {
    private var oldest: RecentMessage?
    /// The newer messages are `newer[head...]`.
    private var newer: [RecentMessage] = []
    private var head = 0

    var isEmpty: Bool { oldest == nil }
    var count: Int { oldest == nil ? 0 : 1 + newer.count - head }

    /// Every message kept, oldest first.
    var all: [RecentMessage] {
        guard let oldest else { return [] }
        return [oldest] + newer[head...]
    }

    /// Adds `message`, first forgetting what fell out of the `window` before it and
    /// the oldest beyond `capacity`.
    mutating func remember(_ message: RecentMessage, capacity: Int, window: Int64) {
        let cutoff = message.acceptedAt - window
        while let first = oldest, first.acceptedAt <= cutoff || count >= max(1, capacity) {
            dropOldest()
        }
        if oldest == nil {
            oldest = message
        } else {
            if head > 0, head >= newer.count / 2 {
                newer.removeFirst(head)
                head = 0
            }
            newer.append(message)
        }
    }

    private mutating func dropOldest() {
        if head < newer.count {
            oldest = newer[head]
            head += 1
        } else {
            oldest = nil
            newer.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// Forgets everything and gives the array's memory back.
    mutating func removeAll() {
        oldest = nil
        newer = []
        head = 0
    }
}

/// A message accepted recently: its Postfix queue id and when.
struct RecentMessage: Sendable, Equatable {
    var queueID: String
    var acceptedAt: Int64
}
