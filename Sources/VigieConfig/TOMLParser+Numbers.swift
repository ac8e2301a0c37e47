/// Integers, floats, and the refusal of dates.
extension TOMLParser {
    mutating func parseNumber() throws(ConfigError) -> TOMLValue {
        let start = location()
        let first = index
        while let byte = peek(), Self.isNumberTokenByte(byte) { index += 1 }
        let token = Array(slice(first..<index))
        let text = String(decoding: token, as: UTF8.self)
        if Self.looksLikeDateOrTime(token) {
            throw error("dates and times are not supported in Vigie's configuration (found \(text)); write it as a \"string\"", at: start)
        }
        switch Self.number(token) {
        case .integer(let value):
            return TOMLValue(.integer(value), at: start)
        case .float(let value):
            return TOMLValue(.float(value), at: start)
        case .invalid(let reason):
            index = first
            if reason.isEmpty { throw expectedValue() }
            throw error("invalid number \(text): \(reason)", at: start)
        }
    }

    enum NumberToken: Equatable {
        case integer(Int)
        case float(Double)
        /// Why it is not a number; empty when it does not even look like one.
        case invalid(String)
    }

    static func isNumberTokenByte(_ byte: UInt8) -> Bool {
        isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }

    /// `1979-05-27...` or `07:32...`: what TOML dates and times start with.
    static func looksLikeDateOrTime(_ token: [UInt8]) -> Bool {
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= token.count && token[range].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        if digits(0..<4), token.count > 4, token[4] == UInt8(ascii: "-") { return true }
        if digits(0..<2), token.count > 2, token[2] == UInt8(ascii: ":") { return true }
        return false
    }

    /// TOML's number grammar, checked byte by byte: `Int("0_1")` or `Double("1.")`
    /// would each accept things TOML does not.
    static func number(_ token: [UInt8]) -> NumberToken {
        var position = 0
        var negative = false
        if let sign = token.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            position = 1
        }
        let rest = Array(token[position...])
        if rest == Array("inf".utf8) { return .float(negative ? -.infinity : .infinity) }
        if rest == Array("nan".utf8) { return .float(.nan) }

        // 0x, 0o, 0b
        if rest.count >= 2, rest[0] == UInt8(ascii: "0"),
           let radix: UInt64 = [UInt8(ascii: "x"): 16, UInt8(ascii: "o"): 8, UInt8(ascii: "b"): 2][rest[1]] {
            if position > 0 { return .invalid("a sign is not allowed before 0x, 0o or 0b") }
            guard let end = digitRun(rest, from: 2, radix: radix), end == rest.count else {
                return .invalid("expected \(radix == 16 ? "hexadecimal" : radix == 8 ? "octal" : "binary") digits, with '_' only between digits")
            }
            return magnitude(rest[2..<end], radix: radix).flatMap { $0 <= UInt64(Int.max) ? .integer(Int($0)) : nil }
                ?? .invalid("too large (the maximum is \(Int.max))")
        }

        guard let integerEnd = digitRun(rest, from: 0, radix: 10) else {
            if rest.first.map({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) ?? false {
                return .invalid("'_' is allowed only between digits")
            }
            return .invalid(rest.isEmpty || position > 0 ? "expected digits" : "")
        }
        if rest[0] == UInt8(ascii: "0"), integerEnd > 1 {
            return .invalid("leading zeros are not allowed")
        }
        if integerEnd == rest.count {
            guard let value = magnitude(rest[0..<integerEnd], radix: 10) else {
                return .invalid("out of range (integers go from \(Int.min) to \(Int.max))")
            }
            if negative {
                if value <= UInt64(Int.max) { return .integer(-Int(value)) }
                if value == UInt64(Int.max) + 1 { return .integer(Int.min) }
            } else if value <= UInt64(Int.max) {
                return .integer(Int(value))
            }
            return .invalid("out of range (integers go from \(Int.min) to \(Int.max))")
        }

        var end = integerEnd
        if rest[end] == UInt8(ascii: ".") {
            guard let fractionEnd = digitRun(rest, from: end + 1, radix: 10) else {
                return .invalid("expected digits after the decimal point")
            }
            end = fractionEnd
        }
        if end < rest.count, rest[end] == UInt8(ascii: "e") || rest[end] == UInt8(ascii: "E") {
            var exponentStart = end + 1
            if exponentStart < rest.count, rest[exponentStart] == UInt8(ascii: "+") || rest[exponentStart] == UInt8(ascii: "-") {
                exponentStart += 1
            }
            guard let exponentEnd = digitRun(rest, from: exponentStart, radix: 10) else {
                return .invalid("expected digits in the exponent")
            }
            end = exponentEnd
        }
        guard end == rest.count else {
            return .invalid("unexpected '\(String(decoding: rest[end...].prefix(1), as: UTF8.self))'")
        }
        let digits = String(decoding: token.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        guard let value = Double(digits) else { return .invalid("not a number") }
        return .float(value)
    }

    /// The end of a run of digits in `radix` starting at `start`, with single `_`
    /// allowed between two digits; nil when there is no such run.
    static func digitRun(_ token: [UInt8], from start: Int, radix: UInt64) -> Int? {
        var position = start
        var previousWasDigit = false
        while position < token.count {
            let byte = token[position]
            if byte == UInt8(ascii: "_") {
                guard previousWasDigit, position + 1 < token.count, digitValue(token[position + 1], radix: radix) != nil else {
                    return nil
                }
                previousWasDigit = false
            } else if digitValue(byte, radix: radix) != nil {
                previousWasDigit = true
            } else {
                break
            }
            position += 1
        }
        return position > start && previousWasDigit ? position : nil
    }

    static func digitValue(_ byte: UInt8, radix: UInt64) -> UInt64? {
        guard let value = hexValue(byte).map(UInt64.init), value < radix else { return nil }
        return value
    }

    /// The value of digits (underscores skipped), or nil on overflow.
    static func magnitude(_ digits: ArraySlice<UInt8>, radix: UInt64) -> UInt64? {
        var value: UInt64 = 0
        for byte in digits where byte != UInt8(ascii: "_") {
            guard let digit = digitValue(byte, radix: radix) else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: radix)
            let (sum, overflow2) = shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }
}
