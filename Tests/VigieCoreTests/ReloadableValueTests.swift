import Foundation
import Synchronization
import Testing
import VigieCore

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
