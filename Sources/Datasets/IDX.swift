#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// An IDX file of unsigned bytes (the format of the MNIST distribution):
///
///     magic: 00 00 08 <rank>, then <rank> big-endian UInt32 dimensions, then the bytes row-major.
///
/// Only element type 0x08 (unsigned byte) is accepted; anything else, a wrong rank, a length
/// that does not match the dimensions, or a corrupt gzip stream is refused with the reason.
public struct IDXArray: Equatable, Sendable {
    public let dimensions: [Int]
    public let bytes: [UInt8]

    public init(dimensions: [Int], bytes: [UInt8]) {
        self.dimensions = dimensions
        self.bytes = bytes
    }

    /// Reads `path`, decompressing it first when it is gzip.
    public static func read(path: String, rank: Int) throws(DatasetError) -> IDXArray {
        let raw = try readFile(path)
        do {
            let content = Gzip.isCompressed(raw) ? try Gzip.decompress(raw) : raw
            return try parse(content, rank: rank)
        } catch {
            throw .malformed(path: path, error)
        }
    }

    /// Parses decompressed IDX content.
    static func parse(_ data: [UInt8], rank: Int) throws(IDXProblem) -> IDXArray {
        guard data.count >= 4 else { throw .tooShort }
        guard data[0] == 0, data[1] == 0, data[2] == 0x08 else {
            throw .notUnsignedBytes(magic: Array(data.prefix(4)))
        }
        guard Int(data[3]) == rank else { throw .wrongRank(expected: rank, found: Int(data[3])) }
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else { throw .truncatedHeader }
        let dimensions = (0..<rank).map { k in
            (0..<4).reduce(0) { $0 << 8 | Int(data[4 + 4 * k + $1]) }
        }
        // Three 32-bit dimensions can multiply past Int.max; such a header can't match a file.
        let (expected, overflow) = dimensions.reduce((1, false)) { product, d in
            let next = product.0.multipliedReportingOverflow(by: d)
            return (next.partialValue, product.1 || next.overflow)
        }
        guard !overflow else { throw .dimensionsTooLarge(dimensions) }
        let actual = data.count - headerSize
        guard actual == expected else {
            throw .wrongLength(dimensions: dimensions, expected: expected, found: actual)
        }
        return IDXArray(dimensions: dimensions, bytes: Array(data[headerSize...]))
    }
}

private func readFile(_ path: String) throws(DatasetError) -> [UInt8] {
    var status = stat()
    guard stat(path, &status) == 0 else { throw .noSuchFile(path: path) }
    guard (status.st_mode & S_IFMT) == S_IFREG else { throw .notARegularFile(path: path) }
    guard let file = fopen(path, "rb") else {
        throw .unreadable(path: path, reason: String(cString: strerror(errno)))
    }
    defer { fclose(file) }
    var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
    let read = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
    guard read == bytes.count else { throw .unreadable(path: path, reason: "read failed") }
    return bytes
}
