import Testing

@testable import ModelExport

/// The wire encoder and reader against the encoding guide's own examples
/// (protobuf.dev/programming-guides/encoding) and against malformed input.
@Suite(.timeLimit(.minutes(10)))
struct ProtobufTests {
    @Test func varintsAreBase128LeastSignificantGroupFirst() {
        for (value, expected): (UInt64, [UInt8]) in [
            (0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (150, [0x96, 0x01]),
            (300, [0xAC, 0x02]),
            (UInt64.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ] {
            var w = ProtobufWriter()
            w.varint(value)
            #expect(w.bytes == expected, "varint \(value)")
        }
    }

    @Test func fieldsCarryTheirNumberAndWireType() {
        // Given the guide's examples: field 1 = 150, field 2 = "testing", a nested message
        var w = ProtobufWriter()
        w.int(1, 150)
        w.string(2, "testing")
        w.message(3) { $0.int(1, 150) }
        w.float(4, 1)
        w.int(5, -1)

        // Then the bytes are the guide's
        #expect(
            w.bytes
                == [0x08, 0x96, 0x01]
                + [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6E, 0x67]
                + [0x1A, 0x03, 0x08, 0x96, 0x01]
                + [0x25, 0x00, 0x00, 0x80, 0x3F]
                + [0x28] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    @Test func readerGivesBackWhatTheWriterWrote() throws {
        // Given a message with every kind of field the writer has
        var w = ProtobufWriter()
        w.int(1, 1 << 40)
        w.string(8, "layers.0.weight")
        w.float(2, 0.01)
        w.int(20, -7)
        w.message(14) { $0.string(1, "run_id") }

        // When it is read
        let fields = try protobufFields(w.bytes[...])

        // Then each field comes back in order, with its value
        #expect(fields.map(\.number) == [1, 8, 2, 20, 14])
        #expect(fields[0].integer == 1 << 40)
        #expect(fields[1].string == "layers.0.weight")
        #expect(fields[2].float == 0.01)
        #expect(fields[3].integer == -7)
        let nested = try protobufFields(try #require(fields[4].data))
        #expect(nested.first?.string == "run_id")
    }

    @Test func truncatedAndMalformedMessagesAreRefused() {
        var w = ProtobufWriter()
        w.string(2, "testing")
        let cases: [(String, [UInt8])] = [
            ("a length past the end", Array(w.bytes.dropLast())),
            ("a varint cut off", [0x08, 0x96]),
            ("a varint over ten bytes", [0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01]),
            ("field number 0", [0x00, 0x01]),
            ("wire type 3 (a group)", [0x0B]),
            ("a length of 2^63", [0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            ("a fixed32 cut off", [0x25, 0x00, 0x00]),
        ]
        for (name, bytes) in cases {
            #expect(throws: ProtobufError.self, "\(name)") { try protobufFields(bytes[...]) }
        }
    }
}
