import Synchronization

extension RedisSharedCounters {
    /// The windows' part of every counting call, laid out as RESP once per distinct
    /// list of windows instead of at every decision: the scripts' four arguments per
    /// window (name, length, limit, kind) and the check's HMGET field names.
    ///
    /// Why: laying out the eight windows' 40 arguments and 25 field names at each RCPT
    /// and end of message was about 70,000 instructions per message on this side, a
    /// third of what the Redis store cost the daemon over SQLite (callgrind,
    /// benchmarks/callgrind/run.sh --only=limits,redis). The policy sends few
    /// distinct lists (one per distinct set of limits: defaults, each group or
    /// account override), so a small table holds them all; a list not in it is laid
    /// out and takes the slot of the oldest.
    final class WindowEncodings: Sendable {
        struct Encoded: Sendable {
            /// Each window's four script arguments.
            let scriptArguments: RedisArguments
            /// Each window's name (its field in the account's hash), then `refusals`.
            let fields: RedisArguments
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

        private static func encode(_ windows: [Window]) -> Encoded {
            var arguments = RedisArguments(capacity: 40 * windows.count + 8)
            var fields = RedisArguments(capacity: 24 * windows.count + 16)
            for window in windows {
                arguments.append(window.name)
                arguments.append(Int(window.length.milliseconds))
                arguments.append(window.limit ?? -1)
                // The scripts' kind: bit 0 counts messages (not recipients), bit 1 is the burst rule's.
                arguments.append((window.metric == .messages ? 1 : 0) + (window.role == .burst ? 2 : 0))
                fields.append(window.name)
            }
            fields.append("refusals")
            return Encoded(scriptArguments: arguments, fields: fields)
        }
    }
}
