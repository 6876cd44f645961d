import Foundation
import TestSupport
import Testing

@testable import Prediction

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct GrayImageTests {
    let image = GrayImage(width: 3, height: 2, pixels: [0, 128, 255, 7, 200, 31])

    @Test func pngRoundTripsThroughLibpng() throws {
        let png = image.png()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try GrayImage.decode(png) == image)
    }

    @Test func binaryPGMIsRead() throws {
        #expect(try GrayImage.decode(image.pgm()) == image)
        // Comments, odd whitespace and a 16-bit maxval.
        let wide = Array("P5 # comment\n2\t1\n# another\n65535\n".utf8) + [0xFF, 0xFF, 0x80, 0x00]
        #expect(try GrayImage.decode(wide) == GrayImage(width: 2, height: 1, pixels: [255, 128]))
    }

    @Test func textPGMIsRead() throws {
        let text = Array("P2\n# small\n3 2\n15\n0 8 15\n1 12 2\n".utf8)
        let decoded = try GrayImage.decode(text)
        #expect(decoded == GrayImage(width: 3, height: 2, pixels: [0, 136, 255, 17, 204, 34]))
    }

    @Test func otherBytesAreNotAnImage() {
        #expect(throws: ImageError.notAnImage) { try GrayImage.decode(Array("hello".utf8)) }
        #expect(throws: ImageError.notAnImage) { try GrayImage.decode([]) }
    }

    @Test func truncatedFilesAreMalformed() {
        let png = image.png()
        #expect {
            try GrayImage.decode(Array(png.prefix(30)))
        } throws: { error in
            guard case .malformed(format: "PNG", _) = error as? ImageError else { return false }
            return true
        }
        #expect {
            try GrayImage.decode(Array(image.pgm().dropLast()))
        } throws: { error in
            guard case .malformed(format: "PGM", _) = error as? ImageError else { return false }
            return true
        }
    }

    @Test func hugeSizesAreRefusedBeforeAllocating() {
        #expect(throws: ImageError.tooLarge(width: 100_000, height: 100_000)) {
            try GrayImage.decode(Array("P5 100000 100000 255\n".utf8))
        }
    }

    @Test func transparencyIsLaidOverAContrastingBackground() {
        // Dark ink on a transparent canvas: laid over white.
        let dark = GrayImage.composite(gray: [0, 0, 0], alpha: [255, 0, 128])
        #expect(dark == [0, 255, 127])
        // Light ink on a transparent canvas: laid over black.
        let light = GrayImage.composite(gray: [255, 255, 255], alpha: [255, 0, 128])
        #expect(light == [255, 0, 128])
        // Opaque images are unchanged.
        #expect(GrayImage.composite(gray: [9, 200], alpha: [255, 255]) == [9, 200])
    }
}
