/// Turning any grayscale image of one digit into what the network saw in training: MNIST's
/// 28×28 white-on-black digits, prepared as LeCun et al. prepared NIST's.
///
/// 1. Polarity: MNIST's ink is white on black. The background is read off the image's border
///    (its outermost rows and columns): if their mean is lighter than mid-gray (> 127), the
///    image is dark ink on light paper and is inverted. So a scan or a photo of a digit on
///    paper works, and so does a digit already white on black.
/// 2. An image that is already 28×28 is used as it is (MNIST's own format); only step 1
///    applies.
/// 3. Otherwise pixels fainter than 1/16 of the brightest ink are cleared as noise, the
///    digit's bounding box is scaled (area-averaged, so edges keep gray levels as MNIST's do)
///    to fit 20×20 with its aspect ratio kept, and the result is placed in a black 28×28 field
///    so that its centre of mass falls on the field's centre.
public enum DigitPreparation {
    public static let side = 28
    /// The box the digit's longer side is scaled to.
    public static let box = 20

    /// 784 bytes, row-major, white ink on black, ready for the network (pixel / 255).
    public static func prepare(_ image: GrayImage) throws(ImageError) -> [UInt8] {
        let ink = inkOnBlack(image)
        guard let peak = ink.pixels.max(), peak > 0 else { throw .blank }
        if ink.width == side && ink.height == side { return ink.pixels }
        let floor = max(UInt8(1), peak / 16)
        var xs = (lo: Int.max, hi: -1)
        var ys = (lo: Int.max, hi: -1)
        for y in 0..<ink.height {
            for x in 0..<ink.width where ink[x, y] >= floor {
                xs = (min(xs.lo, x), max(xs.hi, x))
                ys = (min(ys.lo, y), max(ys.hi, y))
            }
        }
        let cropWidth = xs.hi - xs.lo + 1
        let cropHeight = ys.hi - ys.lo + 1
        var crop = [Double](repeating: 0, count: cropWidth * cropHeight)
        for y in 0..<cropHeight {
            for x in 0..<cropWidth {
                let v = ink[xs.lo + x, ys.lo + y]
                crop[y * cropWidth + x] = v >= floor ? Double(v) : 0
            }
        }
        let scale = Double(box) / Double(max(cropWidth, cropHeight))
        let fitWidth = min(box, max(1, Int((Double(cropWidth) * scale).rounded())))
        let fitHeight = min(box, max(1, Int((Double(cropHeight) * scale).rounded())))
        let fitted = resample(crop, cropWidth, cropHeight, to: fitWidth, fitHeight)
        return centred(fitted, fitWidth, fitHeight)
    }

    /// The image with white ink on black (inverted if its border is light).
    public static func inkOnBlack(_ image: GrayImage) -> GrayImage {
        var sum = 0
        var count = 0
        for y in 0..<image.height {
            let edgeRow = y == 0 || y == image.height - 1
            for x in 0..<image.width where edgeRow || x == 0 || x == image.width - 1 {
                sum += Int(image[x, y])
                count += 1
            }
        }
        guard sum > 127 * count else { return image }
        return GrayImage(width: image.width, height: image.height, pixels: image.pixels.map { 255 - $0 })
    }

    /// Area-averaging resample of a (w, h) image to (tw, th): each output pixel is the mean of
    /// the source area it covers, weighted by overlap (a box filter, up or down).
    static func resample(_ source: [Double], _ w: Int, _ h: Int, to tw: Int, _ th: Int) -> [Double] {
        func spans(_ n: Int, _ tn: Int) -> [[(index: Int, weight: Double)]] {
            let step = Double(n) / Double(tn)
            return (0..<tn).map { o in
                let lo = Double(o) * step
                let hi = lo + step
                var parts: [(Int, Double)] = []
                var i = Int(lo)
                while i < n, Double(i) < hi {
                    let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                    if overlap > 1e-12 { parts.append((i, overlap / step)) }
                    i += 1
                }
                return parts
            }
        }
        let columns = spans(w, tw)
        let rows = spans(h, th)
        var out = [Double](repeating: 0, count: tw * th)
        for (oy, rowParts) in rows.enumerated() {
            for (ox, columnParts) in columns.enumerated() {
                var total = 0.0
                for (y, wy) in rowParts {
                    for (x, wx) in columnParts { total += source[y * w + x] * wy * wx }
                }
                out[oy * tw + ox] = total
            }
        }
        return out
    }

    /// Places a (w, h) image in a black 28×28 field with its centre of mass at (14, 14) in
    /// pixel indices, shifted by whole pixels; what falls outside is cut. (14, 14) rather
    /// than the geometric 13.5: MNIST's own digits average 14.0 (measured on its test set).
    static func centred(_ image: [Double], _ w: Int, _ h: Int) -> [UInt8] {
        var mass = 0.0
        var mx = 0.0
        var my = 0.0
        for y in 0..<h {
            for x in 0..<w {
                let v = image[y * w + x]
                mass += v
                mx += v * Double(x)
                my += v * Double(y)
            }
        }
        let centre = Double(side) / 2
        let left = mass > 0 ? Int((centre - mx / mass).rounded()) : (side - w) / 2
        let top = mass > 0 ? Int((centre - my / mass).rounded()) : (side - h) / 2
        var out = [UInt8](repeating: 0, count: side * side)
        for y in 0..<h {
            for x in 0..<w {
                let (tx, ty) = (x + left, y + top)
                guard (0..<side).contains(tx), (0..<side).contains(ty) else { continue }
                out[ty * side + tx] = UInt8(min(255, max(0, image[y * w + x].rounded())))
            }
        }
        return out
    }
}
