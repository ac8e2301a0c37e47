import Foundation
import Synchronization
import Testing
@testable import VigieCore

@Suite("Reloadable value (settings read without a lock)")
struct ReloadableValueTests {
    final class Settings: Sendable {
        let generation: Int
        let payload: [Int]
        init(generation: Int) {
            self.generation = generation
            self.payload = Array(repeating: generation, count: 64)
        }
    }

    /// Readers on eight threads while a writer replaces the value 2,000 times: every
    /// read sees a whole value (payload consistent with its generation), and a
    /// thread never sees the generation go back.
    @Test func readersSeeWholeValuesInOrder() {
        let value = ReloadableValue(Settings(generation: 0))
        let stop = Atomic<Bool>(false)
        let problems = Atomic<Int>(0)
        let readers = DispatchGroup()
        for _ in 0..<8 {
            DispatchQueue.global().async(group: readers) {
                var last = -1
                while !stop.load(ordering: .relaxed) {
                    let seen = value.value
                    if seen.generation < last || seen.payload.contains(where: { $0 != seen.generation }) {
                        problems.add(1, ordering: .relaxed)
                    }
                    last = seen.generation
                }
            }
        }
        for _ in 0..<2_000 { value.replace { Settings(generation: $0.generation + 1) } }
        stop.store(true, ordering: .relaxed)
        readers.wait()
        #expect(problems.load(ordering: .relaxed) == 0)
        #expect(value.value.generation == 2_000)
    }
}

/// A reader preempted between loading the pointer and retaining the box, held there
/// across a hundred reloads: the box it points to must still be alive. With boxes
/// freed after eight reloads (the earlier design) the value read here was freed
/// (`Tracked.freed` holds its generation) before the reader resumed.
@Suite("Reloadable value: a paused reader")
struct ReloadableValuePausedReaderTests {
    final class Tracked: Sendable {
        static let freed = Mutex<Set<Int>>([])
        let generation: Int
        let payload: [Int]
        init(generation: Int) {
            self.generation = generation
            self.payload = Array(repeating: generation, count: 64)
        }
        deinit { let generation = self.generation; Self.freed.withLock { _ = $0.insert(generation) } }
    }

    @Test func aReaderHeldAcrossManyReloadsStillReadsALiveValue() {
        let value = ReloadableValue(Tracked(generation: 0))
        var freedWhilePaused = false
        let seen = value.readPausedAfterLoad {
            for _ in 0..<100 { value.replace { Tracked(generation: $0.generation + 1) } }
            freedWhilePaused = Tracked.freed.withLock { $0.contains(0) }
        }
        #expect(!freedWhilePaused, "the box a paused reader pointed to was freed")
        #expect(seen.generation == 0)
        #expect(seen.payload.allSatisfy { $0 == 0 })
        #expect(value.value.generation == 100)
        #expect(value.generations == 101)
    }
}
