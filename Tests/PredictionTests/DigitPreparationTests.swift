import Datasets
import Foundation
import TestSupport
import Testing

@testable import Prediction

/// The first test digits of the bundled MNIST, 784 bytes each.
let mnistDigits: [[UInt8]] = {
    let path = repositoryRoot.appendingPathComponent("Data/mnist/t10k-images-idx3-ubyte.gz").path
    guard let array = try? IDXArray.read(path: path, rank: 3) else { return [] }
    return (0..<20).map { Array(array.bytes[$0 * 784..<($0 + 1) * 784]) }
}()

/// Pearson correlation of two images' pixels.
func correlation(_ a: [UInt8], _ b: [UInt8]) -> Double {
    let x = a.map(Double.init)
    let y = b.map(Double.init)
    let mx = x.reduce(0, +) / Double(x.count)
    let my = y.reduce(0, +) / Double(y.count)
    var sxy = 0.0
    var sxx = 0.0
    var syy = 0.0
    for (u, v) in zip(x, y) {
        sxy += (u - mx) * (v - my)
        sxx += (u - mx) * (u - mx)
        syy += (v - my) * (v - my)
    }
    return sxy / (sxx * syy).squareRoot()
}

/// Centre of mass (x, y) of a 28×28 image.
func centreOfMass(_ p: [UInt8]) -> (Double, Double) {
    var m = 0.0
    var mx = 0.0
    var my = 0.0
    for (i, v) in p.enumerated() {
        m += Double(v)
        mx += Double(v) * Double(i % 28)
        my += Double(v) * Double(i / 28)
    }
    return (mx / m, my / m)
}

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct DigitPreparationTests {
    @Test func bundledDigitsAreThere() {
        #expect(mnistDigits.count == 20)
    }

    @Test func a28x28DigitIsUsedAsItIs() throws {
        for digit in mnistDigits {
            let image = GrayImage(width: 28, height: 28, pixels: digit)
            #expect(try DigitPreparation.prepare(image) == digit)
        }
    }

    @Test func darkInkOnLightPaperIsInverted() throws {
        let digit = mnistDigits[0]
        let paper = GrayImage(width: 28, height: 28, pixels: digit.map { 255 - $0 })
        #expect(try DigitPreparation.prepare(paper) == digit)
    }

    /// Each digit scaled up 3× (nearest), drawn dark on light paper at an off-centre spot of
    /// a 120×130 page, comes back close to the original: fitted to 20×20 and centred again.
    @Test func aScaledShiftedDigitIsPreparedBackNearTheOriginal() throws {
        for (n, digit) in mnistDigits.enumerated() {
            let (w, h, scale, left, top) = (120, 130, 3, 5 + n, 30 - n)
            var page = [UInt8](repeating: 255, count: w * h)
            for y in 0..<28 * scale {
                for x in 0..<28 * scale {
                    page[(top + y) * w + left + x] = 255 - digit[(y / scale) * 28 + x / scale]
                }
            }
            let prepared = try DigitPreparation.prepare(GrayImage(width: w, height: h, pixels: page))
            #expect(prepared.count == 784)
            let r = correlation(prepared, digit)
            #expect(r > 0.9, "digit \(n): correlation \(r)")
            let (px, py) = centreOfMass(prepared)
            let (ox, oy) = centreOfMass(digit)
            #expect(abs(px - ox) < 1 && abs(py - oy) < 1, "digit \(n): \((px, py)) vs \((ox, oy))")
        }
    }

    @Test func aSmallStrokeIsScaledUpAndCentred() throws {
        // A 2-pixel-wide vertical bar, 6 high, in the corner of a 40×40 canvas.
        var canvas = [UInt8](repeating: 0, count: 40 * 40)
        for y in 2..<8 { for x in 30..<32 { canvas[y * 40 + x] = 255 } }
        let prepared = try DigitPreparation.prepare(GrayImage(width: 40, height: 40, pixels: canvas))
        // Fitted: 20 rows high, about 7 columns wide, centred on (14, 14) as MNIST's are.
        let rows = (0..<28).filter { y in (0..<28).contains { prepared[y * 28 + $0] > 0 } }
        let columns = (0..<28).filter { x in (0..<28).contains { prepared[$0 * 28 + x] > 0 } }
        #expect(rows.count == 20)
        #expect((6...8).contains(columns.count))
        let (cx, cy) = centreOfMass(prepared)
        #expect(abs(cx - 14) <= 0.5 && abs(cy - 14) <= 0.5)
    }

    @Test func aBlankImageIsRefused() {
        #expect(throws: ImageError.blank) {
            try DigitPreparation.prepare(GrayImage(width: 5, height: 5, pixels: .init(repeating: 0, count: 25)))
        }
        #expect(throws: ImageError.blank) {
            try DigitPreparation.prepare(
                GrayImage(width: 50, height: 9, pixels: .init(repeating: 255, count: 450)))
        }
    }
}
