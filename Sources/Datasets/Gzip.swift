import CZlib

/// Decompression of gzip (and zlib) streams with the system zlib.
enum Gzip {
    /// True when `bytes` start with the gzip magic number 1f 8b.
    static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// The decompressed content of a whole gzip member; throws on corrupt or truncated input.
    /// `limit` bounds the output so that a hostile file cannot exhaust memory.
    static func decompress(_ input: [UInt8], limit: Int = 1 << 31) throws(IDXProblem) -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: the largest window, with gzip/zlib header detection.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { throw .zlibFailed }
        defer { inflateEnd(&stream) }

        var output = [UInt8](repeating: 0, count: max(expectedSize(of: input), 1 << 16))
        var produced = 0
        var status: Int32 = Z_OK
        var mutableInput = input
        try mutableInput.withUnsafeMutableBufferPointer { (source) throws(IDXProblem) in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            while status != Z_STREAM_END {
                if produced == output.count {
                    guard output.count < limit else { throw .gzipTooLarge(limit: limit) }
                    output.append(contentsOf: repeatElement(0, count: min(output.count, limit - output.count)))
                }
                status = output.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress! + produced
                    stream.avail_out = UInt32(target.count - produced)
                    let result = inflate(&stream, Z_NO_FLUSH)
                    produced = target.count - Int(stream.avail_out)
                    return result
                }
                switch status {
                case Z_OK, Z_STREAM_END: continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw .gzipTruncated
                case Z_BUF_ERROR: continue
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw .gzipCorrupt(reason: reason)
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// The size recorded in the gzip trailer (modulo 2³²), used only to size the first buffer.
    /// Deflate expands at most 1032:1, so a trailer claiming more (a damaged or hostile file)
    /// is not believed: a 100-byte file must not make us allocate 256 MB up front.
    private static func expectedSize(of input: [UInt8]) -> Int {
        guard input.count >= 18 else { return 0 }
        let tail = input.suffix(4).map(Int.init)
        let claimed = tail[0] | tail[1] << 8 | tail[2] << 16 | tail[3] << 24
        return min(claimed, input.count * 1032, 1 << 28)
    }
}

/// zlib's CRC-32 of `bytes`, continuing from `crc`.
func crc32(_ bytes: [UInt8], continuing crc: UInt = 0) -> UInt {
    bytes.withUnsafeBufferPointer { CZlib.crc32(crc, $0.baseAddress, UInt32($0.count)) }
}
