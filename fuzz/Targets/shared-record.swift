@testable import VigieRedisRecord

/// The Redis store's shared counts as read back from the server
/// (Sources/VigieRedis/SharedWindowsRecord.swift): whatever sits under the key, a
/// damaged write or another program's value, is refused or read, never trapped on.
///
/// Input: a window count (1-16) and an expected layout from the first five bytes,
/// the rest the value under the key.
///
/// Properties:
/// - parsing never traps;
/// - a record that parses has the count and layout asked for, and writes back to
///   exactly the bytes it was read from;
/// - the same bytes with the layout flipped, or one byte short, are refused.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSharedRecord(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let count = Int(input.byte() % 16) + 1
    var layout: UInt32 = 0
    for _ in 0..<4 { layout = layout << 8 | UInt32(input.byte()) }
    let bytes = input.rest()
    // Half the time, make the header match so the window parsing is reached.
    var value = Array(bytes)
    if value.count >= 4, value[0] & 1 == 0 {
        for index in 0..<4 { value[index] = UInt8(truncatingIfNeeded: layout >> (8 * UInt32(index))) }
    }
    guard let record = try? SharedWindowsRecord(value[...], windows: count, layout: layout) else { return 0 }
    require(record.windows.count == count && record.layout == layout, "a record of other windows was read")
    require(record.bytes == value, "a record does not write back to the bytes it was read from")
    require((try? SharedWindowsRecord(value[...], windows: count, layout: layout ^ 1)) == nil, "another layout was read")
    require((try? SharedWindowsRecord(value.dropLast(), windows: count, layout: layout)) == nil, "a short record was read")
    return 0
}
