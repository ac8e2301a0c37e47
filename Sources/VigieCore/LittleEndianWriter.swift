/// Writes integers in order, little-endian, into a buffer the caller sized: the
/// stores' snapshot formats (counters, histories) pack fields without padding, and a
/// flush writes every active account's once a second, so these are stores, not appends.
struct LittleEndianWriter {
    let buffer: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    mutating func put<Value: FixedWidthInteger>(_ value: Value) {
        // Unaligned store: the formats pack fields without padding.
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Value.self)
        offset += MemoryLayout<Value>.size
    }
}
