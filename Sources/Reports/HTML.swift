/// Small helpers for writing HTML and SVG by hand: escaping, and numbers worded for a page
/// (NumberText.swift holds the digits rule itself).
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
