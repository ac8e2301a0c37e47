import Testing
@testable import VigieConfig

@Suite("TOML parser: values")
struct TOMLValueTests {
    @Test func commentsAndBlankLines() throws {
        let table = try toml("""
        # a comment
        
        a = 1 # trailing comment
        \t# indented comment
        b = "x#y" # the hash inside the string is text
        """)
        #expect(table["a"]?.integer == 1)
        #expect(table["b"]?.string == "x#y")
        #expect(table.keys == ["a", "b"])
    }

    @Test func bareQuotedAndDottedKeys() throws {
        let table = try toml("""
        bare_key-1 = 1
        "quoted key" = 2
        'literal.key' = 3
        "" = 4
        site . "google.com" . enabled = true
        1234 = 5
        """)
        #expect(table["bare_key-1"]?.integer == 1)
        #expect(table["quoted key"]?.integer == 2)
        #expect(table["literal.key"]?.integer == 3)
        #expect(table[""]?.integer == 4)
        #expect(table["site"]?.table?["google.com"]?.table?["enabled"]?.boolean == true)
        #expect(table["1234"]?.integer == 5)
    }

    @Test func basicStringEscapes() throws {
        let table = try toml(#"s = "tab\tnl\nquote\"back\\slash\u00E9\U0001F600 \b\f\r""#)
        #expect(table["s"]?.string == "tab\tnl\nquote\"back\\slash\u{E9}\u{1F600} \u{8}\u{C}\r")
    }

    @Test func literalStrings() throws {
        let table = try toml(#"p = 'C:\Users\no\escapes "here"'"#)
        #expect(table["p"]?.string == #"C:\Users\no\escapes "here""#)
    }

    @Test func multiLineBasicStrings() throws {
        let table = try toml("a = \"\"\"\nRoses\nViolets\"\"\"\n"
            + "b = \"\"\"\\\n    The quick \\\n\n    brown fox.\"\"\"\n"
            + "c = \"\"\"two \"\" quotes and one at the end\"\"\"\"\n"
            + "d = \"\"\"crlf\r\nline\"\"\"\n")
        #expect(table["a"]?.string == "Roses\nViolets")
        #expect(table["b"]?.string == "The quick brown fox.")
        #expect(table["c"]?.string == "two \"\" quotes and one at the end\"")
        #expect(table["d"]?.string == "crlf\nline")
    }

    @Test func multiLineLiteralStrings() throws {
        let table = try toml("r = '''\nI [dw]on't need \\d{2} apples\n'''\nq = '''''quoted'''''\n")
        #expect(table["r"]?.string == "I [dw]on't need \\d{2} apples\n")
        #expect(table["q"]?.string == "''quoted''")
    }

    @Test func integers() throws {
        let table = try toml("""
        a = 99
        b = +17
        c = -17
        d = 0
        e = 1_000_000
        f = 0xDEAD_beef
        g = 0o755
        h = 0b1101
        i = 9223372036854775807
        j = -9223372036854775808
        k = -0
        """)
        #expect(table["a"]?.integer == 99)
        #expect(table["b"]?.integer == 17)
        #expect(table["c"]?.integer == -17)
        #expect(table["d"]?.integer == 0)
        #expect(table["e"]?.integer == 1_000_000)
        #expect(table["f"]?.integer == 0xDEAD_BEEF)
        #expect(table["g"]?.integer == 0o755)
        #expect(table["h"]?.integer == 0b1101)
        #expect(table["i"]?.integer == Int.max)
        #expect(table["j"]?.integer == Int.min)
        #expect(table["k"]?.integer == 0)
    }

    @Test func floats() throws {
        let table = try toml("""
        a = 1.0
        b = -3.1415
        c = 5e+22
        d = 1e06
        e = -2E-2
        f = 6.626e-34
        g = 224_617.445_991
        h = inf
        i = -inf
        j = nan
        k = +nan
        """)
        #expect(table["a"]?.float == 1.0)
        #expect(table["b"]?.float == -3.1415)
        #expect(table["c"]?.float == 5e22)
        #expect(table["d"]?.float == 1e6)
        #expect(table["e"]?.float == -0.02)
        #expect(table["f"]?.float == 6.626e-34)
        #expect(table["g"]?.float == 224_617.445_991)
        #expect(table["h"]?.float == .infinity)
        #expect(table["i"]?.float == -.infinity)
        #expect(table["j"]?.float?.isNaN == true)
        #expect(table["k"]?.float?.isNaN == true)
    }

    @Test func booleans() throws {
        let table = try toml("yes = true\nno = false")
        #expect(table["yes"]?.boolean == true)
        #expect(table["no"]?.boolean == false)
    }

    @Test func arrays() throws {
        let table = try toml("""
        empty = []
        ints = [1, 2, 3]
        mixed = ["a", 1, 2.5, true, [1], { x = 1 }]
        nested = [[1, 2], ["a"]]
        multi = [
            "fr",   # first
            "en",   # trailing comma allowed
        ]
        """)
        #expect(table["empty"]?.array?.isEmpty == true)
        #expect(table["ints"]?.array?.compactMap(\.integer) == [1, 2, 3])
        #expect(table["mixed"]?.array?.count == 6)
        #expect(table["mixed"]?.array?[5].table?["x"]?.integer == 1)
        #expect(table["nested"]?.array?[1].array?[0].string == "a")
        #expect(table["multi"]?.array?.compactMap(\.string) == ["fr", "en"])
    }

    @Test func inlineTables() throws {
        let table = try toml(#"point = { x = 1, y.z = 2, "q k" = { deep = true } }"#)
        let point = try #require(table["point"]?.table)
        #expect(point["x"]?.integer == 1)
        #expect(point["y"]?.table?["z"]?.integer == 2)
        #expect(point["q k"]?.table?["deep"]?.boolean == true)
        #expect(try toml("e = {}")["e"]?.table?.isEmpty == true)
    }

    @Test func byteOrderMarkAndCRLF() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a = 1\r\nb = 2\r\n".utf8)
        let table = try TOMLDocument(parsing: bytes, file: "bom.toml").root
        #expect(table["b"]?.integer == 2)
        #expect(table["b"]?.line == 2)
    }
}

@Suite("TOML parser: tables")
struct TOMLTableTests {
    @Test func tablesAndSubTables() throws {
        let table = try toml("""
        top = 0
        [limits]
        recipients_per_message = 50
        [limits.messages]
        per_hour = 150
        [ "groups" . 'news letter' ]
        x = 1
        """)
        #expect(table["limits"]?.table?["recipients_per_message"]?.integer == 50)
        #expect(table["limits"]?.table?["messages"]?.table?["per_hour"]?.integer == 150)
        #expect(table["groups"]?.table?["news letter"]?.table?["x"]?.integer == 1)
    }

    @Test func superTableDefinedAfterSubTable() throws {
        let table = try toml("[a.b.c]\nx = 1\n[a]\ny = 2\n")
        #expect(table["a"]?.table?["y"]?.integer == 2)
        #expect(table["a"]?.table?["b"]?.table?["c"]?.table?["x"]?.integer == 1)
        // The implicit table takes the line of its own header once defined.
        #expect(table["a"]?.line == 3)
    }

    @Test func subTableOfDottedTable() throws {
        let table = try toml("[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true\n")
        let apple = try #require(table["fruit"]?.table?["apple"]?.table)
        #expect(apple["color"]?.string == "red")
        #expect(apple["texture"]?.table?["smooth"]?.boolean == true)
    }

    @Test func arraysOfTables() throws {
        let table = try toml("""
        [[fruits]]
        name = "apple"
        [fruits.physical]
        color = "red"
        [[fruits.varieties]]
        name = "red delicious"
        [[fruits.varieties]]
        name = "granny smith"
        [[fruits]]
        name = "banana"
        """)
        let fruits = try #require(table["fruits"]?.array)
        #expect(fruits.count == 2)
        #expect(fruits[0].table?["physical"]?.table?["color"]?.string == "red")
        #expect(fruits[0].table?["varieties"]?.array?.count == 2)
        #expect(fruits[1].table?["name"]?.string == "banana")
        #expect(fruits[1].line == 9)
    }

    @Test func keysKeepTheirOrder() throws {
        let table = try toml("z = 1\na = 2\n[m]\n[b]\n")
        #expect(table.keys == ["z", "a", "m", "b"])
    }
}

@Suite("TOML parser: source positions")
struct TOMLPositionTests {
    @Test func everyKeyAndValueKnowsItsLine() throws {
        let document = try TOMLDocument(parsing: """
        # line 1
        a = 1

        [t]
        b = \"\"\"
        two
        lines\"\"\"
        c = [
          1,
          2,
        ]
        d = 'after'
        """, file: "/etc/vigie/vigie.toml")
        let root = document.root
        #expect(root.entry("a")?.keyLocation == TOMLLocation(file: "/etc/vigie/vigie.toml", line: 2))
        #expect(root["t"]?.line == 4)
        let t = try #require(root["t"]?.table)
        #expect(t["b"]?.line == 5)
        #expect(t["c"]?.line == 8)
        #expect(t["c"]?.array?.map(\.line) == [9, 10])
        #expect(t["d"]?.line == 12)
        #expect(t.entry("d")?.keyLocation.line == 12)
    }

    @Test func dottedTablesTakeTheLineOfTheirFirstKey() throws {
        let table = try toml("\n\nx.y = 1\nx.z = 2\n")
        #expect(table["x"]?.line == 3)
        #expect(table["x"]?.table?["z"]?.line == 4)
    }
}

@Suite("TOML parser: errors")
struct TOMLErrorTests {
    /// (input, line, fragment of the message)
    static let cases: [(String, Int, String)] = [
        ("a = ", 1, "expected a value"),
        ("a = 1\nb = ", 2, "expected a value"),
        ("a = 1 2", 1, "expected the end of the line after the value"),
        ("a 1", 1, "expected '=' after the key a"),
        ("= 1", 1, "expected a key"),
        ("a = \"open", 1, "unterminated string"),
        ("a = \"line\nbreak\"", 1, "must close on the line it opens"),
        ("a = 'open", 1, "unterminated string"),
        ("\n\na = \"\"\"never closed\n\n", 5, "unterminated multi-line string (opened at line 3)"),
        ("a = \"bad \\q escape\"", 1, "unknown escape \\q"),
        ("a = \"\\uD800\"", 1, "not a Unicode scalar value"),
        ("a = \"\\u12\"", 1, "expected 4 hexadecimal digits"),
        ("a = 012", 1, "leading zeros"),
        ("a = 1__0", 1, "'_' is allowed only between digits"),
        ("a = 1_", 1, "'_' is allowed only between digits"),
        ("a = 1.", 1, "expected digits after the decimal point"),
        ("a = 1e", 1, "expected digits in the exponent"),
        ("a = .5", 1, "expected a value"),
        ("a = +0x10", 1, "a sign is not allowed"),
        ("a = 0xZ", 1, "expected hexadecimal digits"),
        ("a = 9223372036854775808", 1, "out of range"),
        ("a = 0x8000000000000000", 1, "too large"),
        ("a = 1979-05-27", 1, "dates and times are not supported"),
        ("a = 07:32:00", 1, "dates and times are not supported"),
        ("a = 1979-05-27T07:32:00Z", 1, "dates and times are not supported"),
        ("a = yes", 1, "text must be in quotes"),
        ("socket = unix:/var/run/x.sock", 1, "found 'unix:/var/run/x.sock'"),
        ("a = truex", 1, "expected a value"),
        ("a = [1, 2", 1, "expected ',' or ']' in the array opened at line 1, found the end of the file"),
        ("a = [1 2]", 1, "expected ',' or ']'"),
        ("a = [,]", 1, "expected a value"),
        ("a = { x = 1, }", 1, "trailing comma"),
        ("a = { x = 1\n}", 1, "must close on the line it opens"),
        ("a = { x = 1 y = 2 }", 1, "expected ',' or '}'"),
        ("a = { x = 1, x = 2 }", 1, "duplicate key"),
        ("[table", 1, "expected ']' to close the table header"),
        ("[[array]", 1, "expected ']]'"),
        ("[]", 1, "expected a key"),
        ("[a]\nx = 1\n[a]", 3, "table [a] is defined twice (first at line 1)"),
        ("a = 1\na = 2", 2, "duplicate key: already defined at line 1"),
        ("a.b = 1\na.b = 2", 2, "duplicate key: already defined at line 1"),
        ("a = 1\na.b = 2", 2, "a already holds a value (line 1)"),
        ("a = 1\n[a]", 2, "a already holds a value"),
        ("a = {x = 1}\n[a.b]", 2, "an inline table, which cannot be extended"),
        ("a = {x = 1}\na.y = 2", 2, "an inline table, which cannot be extended"),
        ("[fruit]\napple.color = 1\n[fruit.apple]", 3, "made by dotted keys at line 2"),
        ("[a.b]\nx = 1\n[a]\nb.y = 2", 4, "defined by a [header] (line 1)"),
        ("[[a]]\n[a]", 2, "is an array of tables"),
        ("[a]\n[[a]]", 2, "is already a table"),
        ("a = [1]\n[[a]]", 2, "already holds a value"),
        ("[[a]]\nb.c = 1\n[a.b]", 3, "made by dotted keys"),
        ("a = \"\"\"x\"\"\"\"\"\"", 1, "too many quotes"),
        ("a = 1\r", 1, "carriage return must be followed by a line feed"),
        ("# comment with \u{01} control", 1, "control character U+0001 is not allowed in a comment"),
        ("a = \"tab\tok but \u{07} not\"", 1, "control character U+0007 must be written as an escape"),
        ("\"\"\"k\"\"\" = 1", 1, "a multi-line string cannot be a key"),
        ("a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 1, "nested more than 32 deep"),
    ]

    @Test(arguments: cases)
    func syntaxErrorsNameTheLine(input: String, line: Int, fragment: String) throws {
        let error = try #require(tomlError(input))
        #expect(error.file == "t.toml")
        #expect(error.line == line, "\(error)")
        #expect(error.message.contains(fragment), "\(error)")
    }

    @Test func invalidUTF8NamesItsLine() throws {
        let bytes = Array("a = 1\nb = \"".utf8) + [0xC3, 0x28] + Array("\"\n".utf8)
        #expect(throws: ConfigError(file: "bad.toml", line: 2, key: nil, message: "not valid UTF-8 (byte 0xC3)")) {
            try TOMLDocument(parsing: bytes, file: "bad.toml")
        }
    }

    @Test func redefinitionErrorsCarryTheKey() throws {
        let error = try #require(tomlError("[limits.messages]\nper_hour = 1\nper_hour = 2"))
        #expect(error.key == "limits.messages.per_hour")
        #expect(error.description == "t.toml:3: limits.messages.per_hour: duplicate key: already defined at line 2")
    }
}
