/// Small helpers for writing HTML and SVG by hand: escaping and number formatting.
import Foundation

/// Escapes text for HTML and SVG, in element content and in quoted attribute values alike.
/// Every string that reaches the page from the database (run names, paths, failure reasons)
/// goes through this.
func escape(_ text: String) -> String {
    // Most texts (numbers, dates, plain names) have nothing to escape: returned as they are,
    // after one pass over their bytes; a page of 5,000 runs spent a fifth of its time here.
    guard text.utf8.contains(where: { HTMLBytes.entity($0) != nil }) else { return text }
    var out = HTMLBytes(capacity: text.utf8.count + 16)
    out.text(text)
    return out.string
}

/// Fixed-point text, "0.123" for `fixed(0.12345, 3)`: printf's rounding (the exact binary
/// value, half to even), no locale, and no "-0.000" for a tiny negative.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "-∞") }
    let digits = max(0, min(digits, 40))
    guard let units = fixedUnits(value, digits) else { return printfFixed(value, digits) }
    // units is value × 10^digits rounded: its last `digits` decimals follow the point.
    var text = String(units)
    if digits > 0 {
        if text.count <= digits { text = String(repeating: "0", count: digits + 1 - text.count) + text }
        text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
    }
    return value < 0 && units != 0 ? "-" + text : text
}

/// |value| × 10^digits rounded as printf rounds it; nil where the product is too large for
/// this (printf then does it). The product hi + lo is exact (fma), so a half
/// is told from a value just above or below it.
private func fixedUnits(_ value: Double, _ digits: Int) -> UInt64? {
    guard digits <= 15 else { return nil }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }  // exact up to 10^22
    let magnitude = abs(value)
    let hi = magnitude * scale
    guard hi < 0x1p52 else { return nil }
    let lo = (-hi).addingProduct(magnitude, scale)  // magnitude × scale − hi, exactly
    let floor = hi.rounded(.down)
    let fraction = hi - floor  // exact: a multiple of hi's ulp
    var units = UInt64(floor)
    // Below 2^52, fraction and ½ are multiples of hi's ulp and |lo| is at most half of one:
    // fraction alone says which way to round, except on a tie, where lo does (and on an
    // exact tie, evenness). lo can't carry the product past a whole number either way.
    if fraction > 0.5 || (fraction == 0.5 && (lo > 0 || (lo == 0 && units % 2 == 1))) {
        units += 1
    }
    return units
}

/// printf itself, for what fixedUnits can't do (a number beyond 2^52 units).
private func printfFixed(_ value: Double, _ digits: Int) -> String {
    let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 400) { buffer in
        _ = withVaList([Int32(digits), value]) { vsnprintf(buffer.baseAddress, buffer.count, "%.*f", $0) }
        return String(cString: buffer.baseAddress!)
    }
    return text.hasPrefix("-") && text.allSatisfy({ "-0.".contains($0) })
        ? String(text.dropFirst()) : text
}

/// `0.9712` → "97.12%".
func percent(_ fraction: Double?, digits: Int = 2) -> String {
    fraction.map { fixed($0 * 100, digits) + "%" } ?? "–"
}

/// A loss with four decimals, "–" when missing.
func loss(_ value: Double?) -> String { value.map { fixed($0, 4) } ?? "–" }

/// An SVG coordinate: two decimals are finer than a pixel and keep the file small.
func coordinate(_ value: Double) -> String {
    var text = fixed(value, 2)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text == "-0" ? "0" : text
}

/// HTML as UTF-8 bytes in one growing buffer, for the pages made of thousands of rows: the
/// runs page at 5,000 runs is 300,000 small pieces, and String appends of them cost more
/// than reading the runs.
struct HTMLBytes {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Markup as written in the source.
    mutating func markup(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Text from the database, escaped for element content and quoted attribute values (the
    /// one escaping rule; `escape` applies it to a String).
    mutating func text(_ text: String) {
        for byte in text.utf8 {
            if let entity = Self.entity(byte) { markup(entity) } else { bytes.append(byte) }
        }
    }

    /// What `byte` is written as in HTML text, or nil when it stands for itself.
    static func entity(_ byte: UInt8) -> StaticString? {
        switch byte {
        case 0x26: "&amp;"
        case 0x3C: "&lt;"
        case 0x3E: "&gt;"
        case 0x22: "&quot;"
        case 0x27: "&#39;"
        default: nil
        }
    }

    /// Text made here that needs no escaping (a formatted number).
    mutating func plain(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// An integer in decimal.
    mutating func number(_ value: some BinaryInteger) {
        guard value != 0 else { return bytes.append(0x30) }
        if value < 0 { bytes.append(0x2D) }
        var magnitude = value.magnitude
        let start = bytes.count
        while magnitude > 0 {
            bytes.append(0x30 + UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        }
        bytes[start...].reverse()
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}
