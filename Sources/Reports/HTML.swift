/// Small helpers for writing HTML and SVG by hand: escaping and number formatting.
import Foundation

/// Escapes text for HTML and SVG, in element content and in quoted attribute values alike.
/// Every string that reaches the page from the database (run names, paths, failure reasons)
/// goes through this.
func escape(_ text: String) -> String {
    // Most texts (numbers, dates, plain names) have nothing to escape: returned as they are,
    // after one pass over their bytes; a page of 5,000 runs spent a fifth of its time here.
    guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 })
    else { return text }
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

/// Fixed-point text, "0.123" for `fixed(0.12345, 3)`: printf's rounding, no locale, and no
/// "-0.000" for a tiny negative.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "-∞") }
    let text = String(format: "%.\(digits)f", value)
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
