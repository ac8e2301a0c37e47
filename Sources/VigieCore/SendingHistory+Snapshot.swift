/// The binary form of `SendingHistory` the store keeps (`histories.snapshot`).
///
/// Version 1, every integer little-endian whatever the host, in this order:
///
///     size  field
///        1  version (1)
///        4  firstSeenHour, 4 messages, 4 score (Float bits), 4 scoreMinute
///        1  watched (0/1), 2 newNetworksDay, 1 newNetworksToday
///      130  correspondents: 8 words current, 8 words previous, UInt16 inserted
///       64  networks:   4 × (prefix UInt64, firstSeenHour UInt32, lastSeenDay UInt16,
///                            daysSeen UInt8, trusted UInt8)
///       44  habit:      24 hour buckets, hourlyMean, dailyMean (Float bits),
///                       currentHour UInt32, currentDay, hourCount, dayCount, activeHours (UInt16)
///
/// 259 bytes. Decoding is total: an unknown version, a wrong length or a field out
/// of its range (a network prefix that is not one) is nil, and that account starts
/// an empty history (it scores as new, which never locks): the safe side.
extension SendingHistory {
    public static let snapshotVersion: UInt8 = 1
    public static let snapshotSize = 259

    public func snapshot() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.snapshotSize)
        bytes.withUnsafeMutableBytes { writeSnapshot(into: $0) }
        return bytes
    }

    /// Writes the snapshot into the first `snapshotSize` bytes of `buffer`, so that a
    /// flush of many accounts reuses one buffer (stores, not appends: the flush
    /// writes every active account once a second).
    public func writeSnapshot(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.snapshotSize, "a history snapshot needs \(Self.snapshotSize) bytes")
        var out = LittleEndianWriter(buffer: buffer)
        out.put(Self.snapshotVersion)
        out.put(firstSeenHour); out.put(messages); out.put(score.bitPattern); out.put(scoreMinute)
        out.put(UInt8(watched ? 1 : 0)); out.put(newNetworksDay); out.put(newNetworksToday)
        out.put(correspondents)
        for index in 0..<KnownNetworks.capacity {
            let entry = networks.entries[index]
            out.put(entry.prefix); out.put(entry.firstSeenHour); out.put(entry.lastSeenDay)
            out.put(entry.daysSeen); out.put(UInt8(entry.trusted ? 1 : 0))
        }
        for hour in 0..<24 { out.put(habit.hours[hour]) }
        out.put(habit.hourlyMean.bitPattern); out.put(habit.dailyMean.bitPattern); out.put(habit.currentHour)
        out.put(habit.currentDay); out.put(habit.hourCount); out.put(habit.dayCount); out.put(habit.activeHours)
        precondition(out.offset == Self.snapshotSize)
    }

    public init?(snapshot bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count == Self.snapshotSize, bytes[0] == Self.snapshotVersion else { return nil }
        var read = SnapshotReader(bytes: bytes, offset: 1)
        self.init()
        firstSeenHour = read.next(); messages = read.next()
        score = Float(bitPattern: read.next()); scoreMinute = read.next()
        let watchedByte: UInt8 = read.next()
        guard watchedByte <= 1 else { return nil }
        watched = watchedByte == 1
        newNetworksDay = read.next(); newNetworksToday = read.next()
        guard let correspondents = read.sketch() else { return nil }
        self.correspondents = correspondents
        for index in 0..<KnownNetworks.capacity {
            var entry = KnownNetworks.Entry()
            entry.prefix = read.next(); entry.firstSeenHour = read.next(); entry.lastSeenDay = read.next()
            entry.daysSeen = read.next()
            let trusted: UInt8 = read.next()
            guard trusted <= 1, entry.prefix == 0 || NetworkPrefix(raw: entry.prefix) != nil else { return nil }
            entry.trusted = trusted == 1
            networks.entries[index] = entry
        }
        for hour in 0..<24 { habit.hours[hour] = read.next() }
        habit.hourlyMean = Float(bitPattern: read.next()); habit.dailyMean = Float(bitPattern: read.next())
        habit.currentHour = read.next()
        habit.currentDay = read.next(); habit.hourCount = read.next(); habit.dayCount = read.next()
        habit.activeHours = read.next()
        // A score or mean that is not a finite, non-negative number would poison every
        // later decision of the account.
        for value in [score, habit.hourlyMean, habit.dailyMean] where !value.isFinite || value < 0 { return nil }
        guard read.offset == bytes.count else { return nil }
    }
}

extension LittleEndianWriter {
    fileprivate mutating func put(_ sketch: NoveltySketch) {
        for index in 0..<NoveltySketch.words { put(sketch.current[index]) }
        for index in 0..<NoveltySketch.words { put(sketch.previous[index]) }
        put(sketch.insertedSinceRotation)
    }
}

private struct SnapshotReader {
    let bytes: [UInt8]
    var offset: Int
    mutating func next<T: FixedWidthInteger>() -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size {
            value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index)
        }
        offset += MemoryLayout<T>.size
        return value
    }
    mutating func sketch() -> NoveltySketch? {
        var sketch = NoveltySketch()
        for index in 0..<NoveltySketch.words { sketch.current[index] = next() }
        for index in 0..<NoveltySketch.words { sketch.previous[index] = next() }
        sketch.insertedSinceRotation = next()
        return Int(sketch.insertedSinceRotation) <= NoveltySketch.rotateAfter ? sketch : nil
    }
}
