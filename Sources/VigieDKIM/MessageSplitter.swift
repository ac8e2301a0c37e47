#if canImport(Glibc)
import Glibc
#endif

/// Splits an RFC 5322 message file into header fields and body, for verifying
/// whole files (the milter gets them separately from Postfix).
enum MessageSplitter {
    /// Header fields with their folding (line ends kept inside, none at the end),
    /// and the body after the first empty line. A line that is neither a field nor
    /// a continuation ends the header (as a mail parser would treat it).
    static func split(_ message: [UInt8]) -> (headers: [[UInt8]], body: [UInt8]) {
        var headers: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        while index < message.count {
            var end = index
            while end < message.count && message[end] != 0x0a { end += 1 }
            var line = Array(message[index..<end])
            let next = min(end + 1, message.count)
            if line.last == 0x0d { line.removeLast() }
            if line.isEmpty {
                if !current.isEmpty { headers.append(current) }
                return (headers, Array(message[next...]))
            }
            if line.first == 0x20 || line.first == 0x09 {
                if !current.isEmpty { current += [0x0d, 0x0a] + line }
            } else {
                if !current.isEmpty { headers.append(current) }
                current = line
            }
            index = next
        }
        if !current.isEmpty { headers.append(current) }
        return (headers, [])
    }

    /// Bare LF → CRLF (CRLF left alone).
    static func crlf(_ bytes: [UInt8]) -> [UInt8] {
        // Most fields and bodies have none to mend: one read-only pass, no copy.
        guard hasBareLineFeed(bytes) else { return bytes }
        // Into a buffer sized for the worst case (every byte a bare LF), without the
        // capacity check of an append per byte: folded header fields come from
        // Postfix with bare LFs, so this runs on most messages.
        return bytes.withUnsafeBufferPointer { input in
            [UInt8](unsafeUninitializedCapacity: input.count * 2) { output, count in
                var previous: UInt8 = 0
                var written = 0
                for byte in input {
                    if byte == 0x0a && previous != 0x0d {
                        output[written] = 0x0d
                        written += 1
                    }
                    output[written] = byte
                    written += 1
                    previous = byte
                }
                count = written
            }
        }
    }

    static func hasBareLineFeed(_ bytes: [UInt8]) -> Bool {
        // memchr from one LF to the next: most fields hold none, and a byte loop was
        // the largest Swift cost of feeding headers to libopendkim (callgrind).
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            var offset = 0
            while offset < buffer.count, let found = memchr(base + offset, 0x0a, buffer.count - offset) {
                let index = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if index == 0 || base[index - 1] != 0x0d { return true }
                offset = index + 1
            }
            return false
        }
    }
}
