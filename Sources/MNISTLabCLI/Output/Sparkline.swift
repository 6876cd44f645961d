/// A curve in one line of block characters, lowest value ▁, highest █.
enum Sparkline {
    static let blocks = Array("▁▂▃▄▅▆▇█")

    /// At most `width` characters: longer series are averaged into `width` buckets.
    static func render(_ values: [Double], width: Int = 60) -> String {
        guard !values.isEmpty else { return "" }
        let buckets = min(width, values.count)
        let points = (0..<buckets).map { b -> Double in
            let slice = values[b * values.count / buckets..<(b + 1) * values.count / buckets]
            return slice.reduce(0, +) / Double(slice.count)
        }
        let low = points.min()!
        let span = points.max()! - low
        return String(points.map { p in
            blocks[span > 0 ? min(Int((p - low) / span * Double(blocks.count)), blocks.count - 1) : 0]
        })
    }
}
