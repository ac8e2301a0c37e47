import Synchronization

/// A value read on every message by many threads at once and replaced only by a
/// reload: reading it is one atomic load, with no lock to queue on.
///
/// Why: behind a mutex, the settings every decision reads were the daemon's hottest
/// spot at 64 connections (a quarter of its CPU spinning in `Mutex._lockSlow`, perf).
///
/// Safe whatever the scheduling: a reader loads the pointer and only then retains
/// the box it points to, so a box must never be freed while some reader may hold its
/// pointer unretained, however long that reader is paused. Every box ever published
/// is therefore kept until the value itself goes: a replacement is an admin's
/// `vigiectl reload` (a few kilobytes of settings each, and a restart gives them
/// back), so the cost is memory that grows with reloads, not a window that a slow
/// reader could lose. (An earlier version kept the last eight boxes, betting that no
/// reader stays paused across eight reloads; `ReloadableValueTests` holds a reader at
/// a barrier across a hundred.)
public final class ReloadableValue<Value: Sendable>: Sendable {
    private final class Box: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private let current: Atomic<Unmanaged<Box>>
    /// Every box published, oldest first: what keeps them alive.
    private let published: Mutex<[Box]>

    public init(_ value: Value) {
        let box = Box(value)
        published = Mutex([box])
        current = Atomic(Unmanaged.passUnretained(box))
    }

    /// The value in force.
    public var value: Value { current.load(ordering: .acquiring).takeUnretainedValue().value }

    /// How many values were ever put in force (the first included): for the tests.
    var generations: Int { published.withLock { $0.count } }

    /// Puts in force the value `make` builds from the one in force (replacements are
    /// serialised: two reloads cannot both build from the same old value).
    public func replace(_ make: (Value) -> Value) {
        published.withLock { published in
            let box = Box(make(published.last!.value))
            published.append(box)
            current.store(Unmanaged.passUnretained(box), ordering: .releasing)
        }
    }

    /// A read paused between loading the pointer and retaining its box, the window
    /// that must never meet a free: for the test that holds a reader there.
    func readPausedAfterLoad(_ pause: () -> Void) -> Value {
        let box = current.load(ordering: .acquiring)
        pause()
        return box.takeUnretainedValue().value
    }
}
