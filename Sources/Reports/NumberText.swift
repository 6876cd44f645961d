/// The one rule for writing a number with a fixed count of decimals, shared by the terminal
/// (MNISTLabCLI's Format), the HTML report and the dashboard, so that one stored double reads
/// the same everywhere: 0.10035, stored as 0.100349999…, is "0.1003" in `show` and on a page.
import Foundation

/// Fixed-point text, "0.123" for `fixed(0.12345, 3)`: printf's rounding (the exact binary
/// value, half to even), no locale, and no "-0.000" for a tiny negative.
public func fixed(_ value: Double, _ digits: Int) -> String {
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
