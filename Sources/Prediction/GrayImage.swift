/// Reading images for `predict` and the dashboard's predict API: PNG through Debian's libpng
/// (its simplified `png_image` API), and PGM (P5 binary, P2 text), which is a few lines of
/// header parsing.
import CPNG
import Foundation

/// An 8-bit grayscale image, row-major: 0 is black, 255 white.
public struct GrayImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }

    /// At most 4096×4096 pixels are decoded: a digit needs far fewer, and a bigger header is
    /// refused before anything is allocated.
    public static let maxPixels = 4096 * 4096
}

/// Why bytes are not an image this reads.
public enum ImageError: Error, Equatable, Sendable {
    /// Neither a PNG nor a PGM signature.
    case notAnImage
    /// A PNG or PGM that could not be decoded, with the decoder's reason.
    case malformed(format: String, reason: String)
    case tooLarge(width: Int, height: Int)
    /// No pixel stands out from the background: nothing to classify.
    case blank
    /// Raw pixels of the wrong count (the API's 784 bytes).
    case rawSize(Int)
}

extension ImageError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notAnImage: return "not a PNG or PGM image"
        case .malformed(let format, let reason): return "not a readable \(format): \(reason)"
        case .tooLarge(let w, let h):
            return "the image is \(w)×\(h); at most \(GrayImage.maxPixels) pixels are read"
        case .blank: return "the image is blank: no digit stands out from its background"
        case .rawSize(let n): return "raw pixels must be 784 bytes (28×28); got \(n)"
        }
    }
}

extension GrayImage {
    /// Decodes PNG or PGM bytes, told apart by their signature.
    ///
    /// Transparency: a PNG with transparent pixels is laid over a background that contrasts
    /// with its opaque ink (white under dark ink, black under light ink), so a stroke drawn on
    /// a transparent canvas keeps its shape whatever its colour.
    public static func decode(_ bytes: [UInt8]) throws(ImageError) -> GrayImage {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try decodePNG(bytes) }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "P"),
            bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2")
        {
            return try decodePGM(bytes)
        }
        throw .notAnImage
    }

    static func decodePNG(_ bytes: [UInt8]) throws(ImageError) -> GrayImage {
        var width: UInt32 = 0
        var height: UInt32 = 0
        var buffer: UnsafeMutablePointer<UInt8>?
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBytes { raw in
            mnl_png_decode_gray_alpha(
                raw.baseAddress, raw.count, GrayImage.maxPixels, &width, &height, &buffer,
                &message, message.count)
        }
        defer { free(buffer) }
        if status == 2 { throw .tooLarge(width: Int(width), height: Int(height)) }
        guard status == 0, let buffer, width > 0, height > 0 else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self)
            throw .malformed(format: "PNG", reason: reason.isEmpty ? "unknown error" : reason)
        }
        let count = Int(width) * Int(height)
        let pairs = UnsafeBufferPointer(start: buffer, count: 2 * count)
        var gray = [UInt8](repeating: 0, count: count)
        var alpha = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            gray[i] = pairs[2 * i]
            alpha[i] = pairs[2 * i + 1]
        }
        return GrayImage(
            width: Int(width), height: Int(height), pixels: composite(gray: gray, alpha: alpha))
    }

    /// Lays gray+alpha over white if the ink (alpha-weighted) is dark, else over black.
    static func composite(gray: [UInt8], alpha: [UInt8]) -> [UInt8] {
        guard alpha.contains(where: { $0 != 255 }) else { return gray }
        var weighted = 0.0
        var weight = 0.0
        for (g, a) in zip(gray, alpha) {
            weighted += Double(g) * Double(a)
            weight += Double(a)
        }
        let background: Double = weight > 0 && weighted / weight < 128 ? 255 : 0
        return zip(gray, alpha).map { g, a in
            let t = Double(a) / 255
            return UInt8((Double(g) * t + background * (1 - t)).rounded())
        }
    }

    /// PGM: "P5" or "P2", then width, height and maxval separated by whitespace (and
    /// `#` comments), then one whitespace byte and the pixels: binary, big-endian 16-bit if
    /// maxval > 255 (P5), or decimal numbers (P2). Values are scaled to 0…255.
    static func decodePGM(_ bytes: [UInt8]) throws(ImageError) -> GrayImage {
        let binary = bytes[1] == UInt8(ascii: "5")
        var i = 2
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
        func number() throws(ImageError) -> Int {
            while i < bytes.count {
                if isSpace(bytes[i]) {
                    i += 1
                } else if bytes[i] == UInt8(ascii: "#") {
                    while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                } else {
                    break
                }
            }
            var value = 0
            var digits = 0
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) {
                value = value * 10 + Int(bytes[i] - UInt8(ascii: "0"))
                digits += 1
                i += 1
                guard value <= 1 << 30 else { throw .malformed(format: "PGM", reason: "number too large") }
            }
            guard digits > 0 else {
                throw .malformed(format: "PGM", reason: "expected a number at byte \(i)")
            }
            return value
        }
        let width = try number()
        let height = try number()
        let maxValue = try number()
        guard width > 0, height > 0 else {
            throw .malformed(format: "PGM", reason: "the size is \(width)×\(height)")
        }
        guard width * height <= GrayImage.maxPixels else {
            throw .tooLarge(width: width, height: height)
        }
        guard (1...65535).contains(maxValue) else {
            throw .malformed(format: "PGM", reason: "maxval \(maxValue) is not 1…65535")
        }
        let count = width * height
        var values = [Int](repeating: 0, count: count)
        if binary {
            guard i < bytes.count, isSpace(bytes[i]) else {
                throw .malformed(format: "PGM", reason: "no pixel data")
            }
            i += 1
            let size = maxValue > 255 ? 2 : 1
            guard bytes.count - i >= count * size else {
                throw .malformed(
                    format: "PGM",
                    reason: "\(bytes.count - i) bytes of pixels for \(width)×\(height)")
            }
            for p in 0..<count {
                values[p] = size == 1
                    ? Int(bytes[i + p]) : Int(bytes[i + 2 * p]) << 8 | Int(bytes[i + 2 * p + 1])
            }
        } else {
            for p in 0..<count { values[p] = try number() }
        }
        let pixels = values.map { UInt8((Double(min($0, maxValue)) * 255 / Double(maxValue)).rounded()) }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// The image as a PNG (8-bit grayscale), through libpng.
    public func png() -> [UInt8] {
        var out: UnsafeMutableRawPointer?
        let size = pixels.withUnsafeBufferPointer {
            mnl_png_encode_gray($0.baseAddress, UInt32(width), UInt32(height), &out)
        }
        defer { free(out) }
        guard size > 0, let out else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: out, count: size))
    }

    /// The image as a binary PGM (P5).
    public func pgm() -> [UInt8] {
        Array("P5\n\(width) \(height)\n255\n".utf8) + pixels
    }
}
