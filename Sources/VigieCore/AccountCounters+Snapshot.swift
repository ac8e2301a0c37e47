/// The binary form of `AccountCounters` the stores keep (SQLite's `counters.snapshot`,
/// Redis's `counters` hash): here, beside `SendingHistory+Snapshot.swift`, so that
/// both stores write the same bytes and a migration copies them unchanged.
///
/// Version 1, 141 bytes, every integer little-endian whatever the host:
///
///     offset  size  field
///          0     1  version (1)
///          1    16  messagesPerMinute    windowStart Int64, previous UInt32, current UInt32
///         17    16  messagesPerHour      (same layout)
///         33    16  messagesPerDay
///         49    16  recipientsPerMinute
///         65    16  recipientsPerHour
///         81    16  recipientsPerDay
///         97    16  burstMessages
///        113    16  burstRecipients
///        129     4  refusalsInARow       UInt32
///        133     8  lastActivity         Int64
///
/// Binary rather than JSON because a flush may write 100k rows a second. Adding a
/// field to AccountCounters means a new version here (the layout test fails until
/// then); a snapshot of an unknown version or the wrong length is not decoded, and
/// that account starts again from zero counts: the safe side of a rate limit is to
/// forget, not to crash the daemon at start.
extension AccountCounters {
    public static let snapshotVersion: UInt8 = 1
    public static let snapshotSize = 141

    /// Writes the snapshot into the first `snapshotSize` bytes of `buffer`, so that one
    /// buffer serves a whole flush (stores, not appends).
    public func writeSnapshot(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.snapshotSize, "a counters snapshot needs \(Self.snapshotSize) bytes")
        var out = LittleEndianWriter(buffer: buffer)
        out.put(Self.snapshotVersion)
        // Spelled out rather than looped over key paths: the order is the file
        // format, and a reader should see it next to the table above.
        out.putWindow(messagesPerMinute)
        out.putWindow(messagesPerHour)
        out.putWindow(messagesPerDay)
        out.putWindow(recipientsPerMinute)
        out.putWindow(recipientsPerHour)
        out.putWindow(recipientsPerDay)
        out.putWindow(burstMessages)
        out.putWindow(burstRecipients)
        out.put(refusalsInARow)
        out.put(lastActivity)
        precondition(out.offset == Self.snapshotSize)
    }

    /// The snapshot as a new array (tests, and the Redis store, which sends each as
    /// an argument of its own; the SQLite store writes into one reused buffer).
    public func snapshotBytes() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.snapshotSize)
        bytes.withUnsafeMutableBytes { writeSnapshot(into: $0) }
        return bytes
    }

    /// Decodes a snapshot; nil for an unknown version or a wrong length.
    public init?(snapshot bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.snapshotSize, bytes[0] == Self.snapshotVersion else { return nil }
        var reader = LittleEndianReader(bytes: bytes, offset: 1)
        self.init()
        messagesPerMinute = reader.readWindow()
        messagesPerHour = reader.readWindow()
        messagesPerDay = reader.readWindow()
        recipientsPerMinute = reader.readWindow()
        recipientsPerHour = reader.readWindow()
        recipientsPerDay = reader.readWindow()
        burstMessages = reader.readWindow()
        burstRecipients = reader.readWindow()
        refusalsInARow = reader.read(UInt32.self)
        lastActivity = reader.read(Int64.self)
    }
}

extension LittleEndianWriter {
    fileprivate mutating func putWindow(_ window: SlidingWindowCount) {
        put(window.windowStart)
        put(window.previous)
        put(window.current)
    }
}

/// Reads integers in order from a buffer whose length the caller has checked.
private struct LittleEndianReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int

    mutating func read<Value: FixedWidthInteger>(_: Value.Type) -> Value {
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: Value.self)
        offset += MemoryLayout<Value>.size
        return Value(littleEndian: value)
    }

    mutating func readWindow() -> SlidingWindowCount {
        // Argument order is evaluation order: windowStart, previous, current.
        SlidingWindowCount(windowStart: read(Int64.self), previous: read(UInt32.self), current: read(UInt32.self))
    }
}
