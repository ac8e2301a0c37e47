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
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 32)
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 0x0a && previous != 0x0d { out.append(0x0d) }
            out.append(byte)
            previous = byte
        }
        return out
    }

    static func hasBareLineFeed(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var previous: UInt8 = 0
            for byte in buffer {
                if byte == 0x0a && previous != 0x0d { return true }
                previous = byte
            }
            return false
        }
    }
}
