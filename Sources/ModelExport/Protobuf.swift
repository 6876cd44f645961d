/// The protocol-buffers wire format, as much of it as an ONNX file needs: varints, fixed32
/// and length-delimited fields (strings, bytes, nested messages). No schema, no reflection:
/// `ONNX.swift` names the fields. Specification: protobuf.dev/programming-guides/encoding.

/// Appends fields to a message. Fields are written in the order they are called, as the
/// format allows; a nested message is written to its own writer, then added as bytes.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    /// Base-128, least significant group first, high bit set on every byte but the last.
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func tag(_ field: Int, _ wireType: WireType) {
        varint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// An int32, int64 or enum field. A negative value is its 64-bit two's complement (ten
    /// bytes), as protobuf writes int32 and int64 alike.
    mutating func int(_ field: Int, _ value: Int64) {
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    /// A float field: four little-endian bytes.
    mutating func float(_ field: Int, _ value: Float) {
        tag(field, .fixed32)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: bits >> shift))
        }
    }

    mutating func bytes(_ field: Int, _ value: some Collection<UInt8>) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        build(&nested)
        bytes(field, nested.bytes)
    }
}

enum WireType: UInt8 {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5
}

/// One field of a message as read: its number and value. A length-delimited value is left
/// as bytes; the reader of that field knows whether it is a string or a message.
struct ProtobufField {
    enum Value {
        case varint(UInt64)
        case fixed32(UInt32)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    var number: Int
    var value: Value

    var integer: Int64? {
        if case .varint(let v) = value { return Int64(bitPattern: v) }
        return nil
    }

    var float: Float? {
        if case .fixed32(let bits) = value { return Float(bitPattern: bits) }
        return nil
    }

    var data: ArraySlice<UInt8>? {
        if case .bytes(let b) = value { return b }
        return nil
    }

    var string: String? { data.flatMap { String(validating: $0, as: UTF8.self) } }
}

/// The fields of one message, in file order. Every length and varint is checked against the
/// bytes there are, so a truncated or hostile file is an error, never a crash or a large
/// allocation. Groups (wire types 3 and 4, deprecated) are refused.
func protobufFields(_ bytes: ArraySlice<UInt8>) throws(ProtobufError) -> [ProtobufField] {
    var fields: [ProtobufField] = []
    var i = bytes.startIndex

    func varint() throws(ProtobufError) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard i < bytes.endIndex else { throw .truncated }
            let byte = bytes[i]
            i += 1
            guard shift < 63 || byte <= 1 else { throw .malformed }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        throw .malformed
    }

    func take(_ count: Int) throws(ProtobufError) -> ArraySlice<UInt8> {
        guard count <= bytes.endIndex - i else { throw .truncated }
        defer { i += count }
        return bytes[i..<i + count]
    }

    func littleEndian(_ count: Int) throws(ProtobufError) -> UInt64 {
        try take(count).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    while i < bytes.endIndex {
        let key = try varint()
        let number = key >> 3
        guard number > 0, number < 1 << 29 else { throw .malformed }
        let value: ProtobufField.Value
        switch WireType(rawValue: UInt8(key & 7)) {
        case .varint: value = .varint(try varint())
        case .fixed64: value = .fixed64(try littleEndian(8))
        case .fixed32: value = .fixed32(UInt32(try littleEndian(4)))
        case .lengthDelimited:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - i) else { throw .truncated }
            value = .bytes(try take(Int(length)))
        case nil: throw .malformed
        }
        fields.append(ProtobufField(number: Int(number), value: value))
    }
    return fields
}

enum ProtobufError: Error {
    /// A field runs past the end of its message.
    case truncated
    /// An unknown wire type, a field number 0, a varint over ten bytes.
    case malformed
}
