import Testing
@testable import VigieCore

@Suite("Recent messages (burst evidence)")
struct RecentMessagesTests {
    static func message(_ id: Int, at time: Int64) -> RecentMessage { RecentMessage(queueID: "Q\(id)", acceptedAt: time) }

    @Test func keepsOrderUpToCapacity() {
        var recent = RecentMessages()
        #expect(recent.isEmpty && recent.all.isEmpty)
        for id in 1...5 { recent.remember(Self.message(id, at: Int64(id)), capacity: 3, window: 1_000) }
        #expect(recent.all.map(\.queueID) == ["Q3", "Q4", "Q5"])
        #expect(recent.count == 3)
    }

    @Test func forgetsWhatLeftTheWindow() {
        var recent = RecentMessages()
        recent.remember(Self.message(1, at: 0), capacity: 10, window: 100)
        recent.remember(Self.message(2, at: 50), capacity: 10, window: 100)
        recent.remember(Self.message(3, at: 100), capacity: 10, window: 100)  // 0 is at the cutoff: gone
        #expect(recent.all.map(\.queueID) == ["Q2", "Q3"])
        recent.remember(Self.message(4, at: 1_000), capacity: 10, window: 100)
        #expect(recent.all.map(\.queueID) == ["Q4"])
    }

    @Test func oneMessageAtATimeNeverGrows() {
        var recent = RecentMessages()
        for id in 1...100 { recent.remember(Self.message(id, at: Int64(id) * 1_000), capacity: 41, window: 600) }
        #expect(recent.all.map(\.queueID) == ["Q100"])
        recent.removeAll()
        #expect(recent.isEmpty)
    }

    /// Against the plain array it replaces, on random traffic.
    @Test func matchesAnArray() {
        var recent = RecentMessages()
        var reference: [RecentMessage] = []
        var time: Int64 = 0
        var state: UInt64 = 42
        for id in 0..<5_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            time += Int64(state >> 58)  // 0...63
            let capacity = 1 + Int((state >> 40) % 8)
            let message = Self.message(id, at: time)
            recent.remember(message, capacity: capacity, window: 100)
            reference.removeAll { $0.acceptedAt <= time - 100 }
            while reference.count >= capacity { reference.removeFirst() }
            reference.append(message)
            #expect(recent.all == reference)
        }
    }
}
