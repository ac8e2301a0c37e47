import VigieCore

/// The binary form of `AccountCounters` kept in `counters.snapshot`.
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
    static let snapshotVersion: UInt8 = 1
    static let snapshotSize = 141

    /// Appends the snapshot to `buffer` (cleared by the caller, so one buffer serves a whole flush).
    func appendSnapshot(to buffer: inout [UInt8]) {
        buffer.append(Self.snapshotVersion)
        // Spelled out rather than looped over key paths: the order is the file
        // format, and a reader should see it next to the table above.
        buffer.appendWindow(messagesPerMinute)
        buffer.appendWindow(messagesPerHour)
        buffer.appendWindow(messagesPerDay)
        buffer.appendWindow(recipientsPerMinute)
        buffer.appendWindow(recipientsPerHour)
        buffer.appendWindow(recipientsPerDay)
        buffer.appendWindow(burstMessages)
        buffer.appendWindow(burstRecipients)
        buffer.appendLittleEndian(refusalsInARow)
        buffer.appendLittleEndian(lastActivity)
    }

    /// Decodes a snapshot; nil for an unknown version or a wrong length.
    init?(snapshot bytes: UnsafeRawBufferPointer) {
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

extension [UInt8] {
    fileprivate mutating func appendLittleEndian<Value: FixedWidthInteger>(_ value: Value) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendWindow(_ window: SlidingWindowCount) {
        appendLittleEndian(window.windowStart)
        appendLittleEndian(window.previous)
        appendLittleEndian(window.current)
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
