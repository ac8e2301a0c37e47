// Micro benchmarks of the policy hot path: one message = SendPolicy.check (at RCPT)
// + SendPolicy.commit (at end of message), as MilterGlue calls them.
//
// Each iteration decides `perIteration` messages (1,000 per thread): `benchmarks/run`
// divides the harness's per-iteration figures by the decisions in it. Accounts are
// warmed first (entry created, limits cached), so the figures are the steady state
// of a daemon that already knows every account.

import Benchmark
import BenchSupport
import Foundation
import Synchronization
import VigieCore

let perThread = 1_000

/// A policy with `count` warmed accounts, built once per (count, burst) and shared by
/// the benchmarks that use it (building 1M accounts takes seconds).
final class Fixture: @unchecked Sendable {  // immutable after init; SendPolicy is Sendable
    let policy: SendPolicy
    let accounts: [AccountName]
    init(count: Int, burst: Bool) {
        policy = BenchPolicy.policy(BenchPolicy.settings(burst: burst))
        accounts = BenchPolicy.accounts(count)
        BenchPolicy.warm(policy, accounts)
    }

    /// Decides `count` messages for the accounts of `lane` among `lanes`, round robin.
    @inline(__always)
    func run(count: Int, lane: Int, lanes: Int, cursor: inout Int) {
        let n = accounts.count
        for _ in 0..<count {
            let index = n == 1 ? 0 : (cursor * lanes + lane) % n
            cursor &+= 1
            blackHole(BenchPolicy.send(policy, accounts[index], queueID: "4ZXQ1B2C3D"))
        }
    }
}

let fixtures = Mutex<[String: Fixture]>([:])
func fixture(_ count: Int, burst: Bool) -> Fixture {
    let key = "\(count)-\(burst)"
    if let existing = fixtures.withLock({ $0[key] }) { return existing }
    let made = Fixture(count: count, burst: burst)
    fixtures.withLock { $0[key] = made }
    return made
}

/// Eight long-lived threads that each decide `perThread` messages per round: the
/// round is one benchmark iteration. Threads (not Dispatch's concurrentPerform, which
/// uses only as many threads as cores) model libmilter's worker threads.
final class ThreadGang: @unchecked Sendable {  // fields written before the threads start, semaphores are thread-safe
    let width: Int
    let start: [DispatchSemaphore]
    let done = DispatchSemaphore(value: 0)
    var work: (@Sendable (Int) -> Void)?
    let stop = Atomic<Bool>(false)

    init(width: Int, work: @escaping @Sendable (Int) -> Void) {
        self.width = width
        self.start = (0..<width).map { _ in DispatchSemaphore(value: 0) }
        self.work = work
        for lane in 0..<width {
            let thread = Thread { [self] in
                while true {
                    start[lane].wait()
                    if stop.load(ordering: .acquiring) { done.signal(); return }
                    self.work?(lane)
                    done.signal()
                }
            }
            thread.start()
        }
    }

    func round() {
        for semaphore in start { semaphore.signal() }
        for _ in 0..<width { done.wait() }
    }

    func shutdown() {
        stop.store(true, ordering: .releasing)
        round()
    }
}

let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal, .throughput]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: metrics, timeUnits: .microseconds, warmupIterations: 5,
        maxDuration: .seconds(3), maxIterations: 100_000)

    // Decision cost by table size, one thread. Burst rule off: the limits only.
    for count in [1, 10_000, 1_000_000] {
        Benchmark("decision accounts=\(count) threads=1 burst=off decisions=\(perThread)") { benchmark in
            let f = fixture(count, burst: false)
            var cursor = 0
            benchmark.startMeasurement()
            f.run(count: perThread, lane: 0, lanes: 1, cursor: &cursor)
        }
    }

    // The burst rule's cost: the same traffic with the volume and persistence signals on.
    for count in [1, 10_000, 1_000_000] {
        Benchmark("decision accounts=\(count) threads=1 burst=on decisions=\(perThread)") { benchmark in
            let f = fixture(count, burst: true)
            var cursor = 0
            benchmark.startMeasurement()
            f.run(count: perThread, lane: 0, lanes: 1, cursor: &cursor)
        }
    }

    // Eight threads at once, each on its own accounts (all on the one account when
    // there is only one). Per iteration: 8 x 1,000 decisions.
    for count in [1, 10_000, 1_000_000] {
        for width in [1, 8] {
            let gangBox = Mutex<ThreadGang?>(nil)
            Benchmark(
                "decision accounts=\(count) threads=\(width) burst=off decisions=\(perThread * width) gang",
                configuration: .init(
                    metrics: metrics, timeUnits: .microseconds, warmupIterations: 5, maxDuration: .seconds(3),
                    maxIterations: 100_000,
                    setup: {
                        let f = fixture(count, burst: false)
                        let cursors = Mutex<[Int]>(Array(repeating: 0, count: width))
                        gangBox.withLock {
                            $0 = ThreadGang(width: width) { lane in
                                var cursor = cursors.withLock { $0[lane] }
                                f.run(count: perThread, lane: lane, lanes: width, cursor: &cursor)
                                cursors.withLock { $0[lane] = cursor }
                            }
                        }
                    },
                    teardown: { gangBox.withLock { $0?.shutdown(); $0 = nil } })
            ) { _ in
                let gang = gangBox.withLock { $0 }!
                gang.round()
            }
        }
    }
}
