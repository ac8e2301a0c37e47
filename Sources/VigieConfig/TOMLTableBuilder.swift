/// A table while its file is being parsed. A class because the parser holds the
/// current section and walks to sub-tables by reference; frozen into a `TOMLTable`
/// value once the file is read.
final class TOMLTableBuilder {
    /// How the table came to exist. TOML allows or forbids adding to a table
    /// depending on it: `[a.b]` creates `a` implicitly and a later `[a]` may still
    /// define it, while a table made by dotted keys cannot be reopened by a header.
    enum Origin {
        case root
        case implicit
        case header
        case dotted
        case arrayElement
        case inline
    }

    enum Slot {
        /// Scalars, static arrays and inline tables: all closed for good.
        case value(TOMLValue)
        case table(TOMLTableBuilder)
        /// `[[name]]` elements.
        case tableArray(TableArray)
    }

    /// The elements of an array of tables, appended to in place (a value array
    /// inside the enum would be copied on every `[[name]]`: quadratic).
    final class TableArray {
        var elements: [TOMLTableBuilder]
        /// Where the first `[[name]]` was written.
        let location: TOMLLocation

        init(first: TOMLTableBuilder, at location: TOMLLocation) {
            self.elements = [first]
            self.location = location
        }
    }

    struct Item {
        var keyLocation: TOMLLocation
        var slot: Slot
    }

    var origin: Origin
    var location: TOMLLocation
    private(set) var order: [String] = []
    var items: [String: Item] = [:]

    init(origin: Origin, location: TOMLLocation) {
        self.origin = origin
        self.location = location
    }

    func insert(_ key: String, at keyLocation: TOMLLocation, _ slot: Slot) {
        if items[key] == nil { order.append(key) }
        items[key] = Item(keyLocation: keyLocation, slot: slot)
    }

    func frozen() -> TOMLTable {
        var table = TOMLTable()
        for key in order {
            guard let item = items[key] else { continue }
            let value: TOMLValue
            switch item.slot {
            case .value(let scalar):
                value = scalar
            case .table(let builder):
                value = TOMLValue(.table(builder.frozen()), at: builder.location)
            case .tableArray(let array):
                value = TOMLValue(.array(array.elements.map { TOMLValue(.table($0.frozen()), at: $0.location) }), at: array.location)
            }
            table.set(TOMLTable.Entry(key: key, keyLocation: item.keyLocation, value: value))
        }
        return table
    }
}
