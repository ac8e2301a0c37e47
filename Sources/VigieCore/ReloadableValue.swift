import Synchronization

/// A value read on every message by many threads at once and replaced only by a
/// reload: reading it is one atomic load, with no lock to queue on.
///
/// Why: behind a mutex, the settings every decision reads were the daemon's hottest
/// spot at 64 connections (a quarter of its CPU spinning in `Mutex._lockSlow`, perf).
/// A replacement publishes a new immutable box; the previous ones are kept for a
/// while (`kept`), because a reader loads the pointer and only then retains the box,
/// a few instructions later, and that window must never meet a free. Replacements
/// are admin actions, seconds apart, so eight kept boxes are ample.
public final class ReloadableValue<Value: Sendable>: Sendable {
    private final class Box: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private let current: Atomic<Unmanaged<Box>>
    private let kept: Mutex<[Box]>
    private static var keptCount: Int { 8 }

    public init(_ value: Value) {
        let box = Box(value)
        kept = Mutex([box])
        current = Atomic(Unmanaged.passUnretained(box))
    }

    /// The value in force.
    public var value: Value { current.load(ordering: .acquiring).takeUnretainedValue().value }

    /// Puts in force the value `make` builds from the one in force (replacements are
    /// serialised: two reloads cannot both build from the same old value).
    public func replace(_ make: (Value) -> Value) {
        kept.withLock { kept in
            let box = Box(make(kept.last!.value))
            kept.append(box)
            current.store(Unmanaged.passUnretained(box), ordering: .releasing)
            if kept.count > Self.keptCount { kept.removeFirst(kept.count - Self.keptCount) }
        }
    }
}
