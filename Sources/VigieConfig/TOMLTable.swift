/// A TOML table: keys in the order they were written, each with its location.
public struct TOMLTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        /// Where the key itself was written (for "unknown key" errors).
        public var keyLocation: TOMLLocation
        public var value: TOMLValue

        public init(key: String, keyLocation: TOMLLocation, value: TOMLValue) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    public private(set) var entries: [Entry] = []
    private var positions: [String: Int] = [:]

    public init() {}

    public init(_ entries: [Entry]) {
        for entry in entries { set(entry) }
    }

    public var keys: [String] { entries.map(\.key) }
    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public subscript(key: String) -> TOMLValue? { entry(key)?.value }

    public func entry(_ key: String) -> Entry? {
        positions[key].map { entries[$0] }
    }

    /// Adds `entry`, or replaces the entry with the same key in place (keeping its
    /// position in the order).
    public mutating func set(_ entry: Entry) {
        if let position = positions[entry.key] {
            entries[position] = entry
        } else {
            positions[entry.key] = entries.count
            entries.append(entry)
        }
    }

    /// This table with `overlay` laid over it, as a conf.d file is laid over the main
    /// file: where both sides hold a table the two merge key by key; anywhere else
    /// (a scalar, an array, a table meeting a scalar) the overlay's value replaces.
    public func merging(_ overlay: TOMLTable) -> TOMLTable {
        var merged = self
        for entry in overlay.entries {
            if let existing = merged.entry(entry.key),
               case .table(let base) = existing.value.kind,
               case .table(let over) = entry.value.kind {
                merged.set(Entry(
                    key: entry.key,
                    keyLocation: existing.keyLocation,
                    value: TOMLValue(.table(base.merging(over)), at: existing.value.location)
                ))
            } else {
                merged.set(entry)
            }
        }
        return merged
    }
}
