/// Domain names as DMARC compares and looks them up: lower-case A-labels, no
/// trailing dot, each label 1 to 63 bytes, at most 253 bytes in all.
///
/// Known limitations: a U-label is lower-cased and Punycode-encoded as is, without
/// IDNA2008's NFC normalisation and code point checks (Swift's standard library has
/// no NFC); a name that is not already in NFC then matches neither the Public
/// Suffix List's rule nor its own DNS name, and gets the default rule's answer.
public enum DomainName {
    /// The name in the form above, or nil when it cannot be one (empty label, a
    /// label over 63 bytes, a byte that no host name has, a domain literal).
    public static func normalized(_ text: some StringProtocol) -> String? {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return normalizedASCII(text.utf8) }
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 1000 else { return nil }
        var labels: [String] = []
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard let normalized = aLabel(label) else { return nil }
            labels.append(normalized)
        }
        let joined = labels.joined(separator: ".")
        return joined.utf8.count <= 253 ? joined : nil
    }

    /// `normalized` for an all-ASCII name, the common case (every From domain,
    /// every DKIM d= and SPF domain of a message): one pass over the bytes into one
    /// buffer. Splitting the name into labels as Characters and joining them again
    /// cost several thousand instructions a name (callgrind). Same rules as
    /// `aLabel`'s ASCII branch, label by label.
    static func normalizedASCII(_ utf8: some Collection<UInt8>) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var labelLength = 0
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "."):
                guard labelLength > 0 else { return nil }
                labelLength = 0
                bytes.append(byte)
                continue
            case 0x41...0x5A: bytes.append(byte | 0x20)
            case 0x61...0x7A, 0x30...0x39, 0x2D, 0x5F: bytes.append(byte)
            default: return nil
            }
            labelLength += 1
            guard labelLength <= 63 else { return nil }
        }
        // One trailing dot is the root, not an empty label.
        if labelLength == 0 {
            guard bytes.count > 1 else { return nil }
            bytes.removeLast()
        }
        return bytes.count <= 253 ? String(decoding: bytes, as: UTF8.self) : nil
    }

    /// One label, lower-cased, as an A-label when it holds non-ASCII characters.
    /// Letters, digits, `-` and `_` (SRV-style and some mail hosts' names) only.
    static func aLabel(_ label: Substring) -> String? {
        guard !label.isEmpty else { return nil }
        if label.utf8.allSatisfy({ $0 < 0x80 }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(label.utf8.count)
            for byte in label.utf8 {
                switch byte {
                case 0x41...0x5A: bytes.append(byte | 0x20)
                case 0x61...0x7A, 0x30...0x39, 0x2D, 0x5F: bytes.append(byte)
                default: return nil
                }
            }
            guard bytes.count <= 63 else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        let scalars = Array(label.lowercased().unicodeScalars)
        // Anything a host name could not hold, even as a U-label.
        guard scalars.count <= 63, scalars.allSatisfy({ scalar in
            scalar.value >= 0x80 ? !scalar.properties.isWhitespace && scalar.properties.generalCategory != .control
                : (0x61...0x7A).contains(scalar.value) || (0x30...0x39).contains(scalar.value) || scalar == "-" || scalar == "_"
        }), let encoded = Punycode.encode(scalars.map(\.value)) else { return nil }
        let label = "xn--" + encoded
        return label.utf8.count <= 63 ? label : nil
    }
}

/// Punycode (RFC 3492) encoding, for turning the Public Suffix List's and a From
/// field's U-labels into the A-labels DNS uses.
enum Punycode {
    private static let base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700, initialBias = 72, initialN = 128

    /// The encoding of `codePoints` (without the "xn--" prefix), or nil on overflow
    /// (not reachable for the 63 code points a label can have, checked anyway).
    static func encode(_ codePoints: [UInt32]) -> String? {
        var output: [UInt8] = codePoints.filter { $0 < 0x80 }.map { UInt8($0) }
        let basicCount = output.count
        var handled = basicCount
        if basicCount > 0 { output.append(UInt8(ascii: "-")) }
        var n = initialN, delta = 0, bias = initialBias
        while handled < codePoints.count {
            guard let next = codePoints.lazy.map({ Int($0) }).filter({ $0 >= n }).min() else { return nil }
            let (product, overflow) = (next - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow, delta <= Int.max - product else { return nil }
            delta += product
            n = next
            for point in codePoints.lazy.map({ Int($0) }) {
                if point < n {
                    guard delta < Int.max else { return nil }
                    delta += 1
                }
                if point == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, points: handled + 1, first: handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func digit(_ value: Int) -> UInt8 {
        value < 26 ? UInt8(ascii: "a") + UInt8(value) : UInt8(ascii: "0") + UInt8(value - 26)
    }

    private static func adapt(_ delta: Int, points: Int, first: Bool) -> Int {
        var delta = first ? delta / damp : delta / 2
        delta += delta / points
        var k = 0
        while delta > ((base - tmin) * tmax) / 2 {
            delta /= base - tmin
            k += base
        }
        return k + (base - tmin + 1) * delta / (delta + skew)
    }
}
