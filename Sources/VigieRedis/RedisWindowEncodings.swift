import Synchronization

extension RedisSharedCounters {
    /// The windows' part of every counting call, laid out once per distinct list of
    /// windows instead of at every decision: the scripts' window specification (one
    /// binary argument) and the layout of the record the list is counted in.
    ///
    /// Why: laying out the eight windows' arguments at each RCPT and end of message
    /// was about 70,000 instructions per message on this side, a third of what the
    /// Redis store cost the daemon over SQLite (callgrind,
    /// benchmarks/callgrind/run.sh --only=limits,redis). The policy sends few
    /// distinct lists (one per distinct set of limits: defaults, each group or
    /// account override), so a small table holds them all; a list not in it is laid
    /// out and takes the slot of the oldest.
    final class WindowEncodings: Sendable {
        struct Encoded: Sendable {
            /// `SharedWindowsRecord.layout(of:)` of the names.
            let layout: UInt32
            /// The scripts' ARGV[5], little-endian (`struct.unpack('<I4' .. ('ddB'):rep(n))`):
            /// the layout (u32), then per window its length in milliseconds and its
            /// limit (doubles, -1 for none) and its kind (a byte: bit 0 counts
            /// messages, not recipients; bit 1 is the burst rule's, not a limit).
            /// Binary and in one argument because Redis makes each argument a Lua
            /// string and the scripts a number of each decimal: 32 arguments and 24
            /// `tonumber` calls were a sixth of the server's time per call.
            let spec: [UInt8]
        }

        private struct Entry: Sendable {
            let windows: [Window]
            let encoded: Encoded
        }

        static let capacity = 32
        private let entries = Mutex<(list: [Entry], next: Int)>(([], 0))

        func encoded(_ windows: [Window]) -> Encoded {
            if let found = entries.withLock({ table in table.list.first { $0.windows == windows }?.encoded }) {
                return found
            }
            let made = Self.encode(windows)
            entries.withLock { table in
                let entry = Entry(windows: windows, encoded: made)
                if table.list.count < Self.capacity {
                    table.list.append(entry)
                } else {
                    table.list[table.next] = entry
                    table.next = (table.next + 1) % Self.capacity
                }
            }
            return made
        }

        static let specWindowSize = 17

        static func encode(_ windows: [Window]) -> Encoded {
            let layout = SharedWindowsRecord.layout(of: windows.map(\.name))
            var spec: [UInt8] = []
            spec.reserveCapacity(4 + Self.specWindowSize * windows.count)
            spec.appendLittleEndian(layout)
            for window in windows {
                spec.appendLittleEndian(Double(window.length.milliseconds).bitPattern)
                spec.appendLittleEndian(Double(window.limit ?? -1).bitPattern)
                spec.append((window.metric == .messages ? 1 : 0) + (window.role == .burst ? 2 : 0))
            }
            return Encoded(layout: layout, spec: spec)
        }
    }
}
