/// What every fuzz target shares: a way to fail that prints why (a `precondition`
/// message is dropped in -O builds, and the fuzzer is built with -O for speed),
/// and a reader that turns the fuzzer's bytes into structured input.

/// Stops the run with `message` when a property does not hold. libFuzzer then saves
/// the input as `crash-*`, which `fuzz/run` counts.
@inline(never)
func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    if !condition { fatalError("property violated: \(message())", file: file, line: line) }
}

/// Reads the fuzzer's bytes as a sequence of small decisions and byte strings. When
/// the bytes run out every read returns zero or empty, so any input is a valid one.
struct FuzzInput {
    private let bytes: [UInt8]
    private var position = 0

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position >= bytes.count }
    var all: [UInt8] { bytes }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A string of bytes up to the next 0x00 (consumed) or the end.
    mutating func field() -> [UInt8] {
        let rest = bytes[min(position, bytes.count)...]
        if let nul = rest.firstIndex(of: 0) {
            defer { position = nul + 1 }
            return Array(rest[..<nul])
        }
        position = bytes.count
        return Array(rest)
    }

    mutating func fieldString() -> String { String(decoding: field(), as: UTF8.self) }

    /// Everything not read yet.
    mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[min(position, bytes.count)...])
    }
}

extension Array where Element == UInt8 {
    /// Whether these bytes are well-formed UTF-8 (String(decoding:) would repair them).
    var isValidUTF8: Bool { String(validating: self, as: UTF8.self) != nil }
}
