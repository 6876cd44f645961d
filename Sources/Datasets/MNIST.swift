#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

import Numerics

/// Images with their labels, the images as sparse rows of pixels scaled to [0, 1].
public struct LabeledImages: Sendable {
    public let images: SparseRows
    public let labels: [UInt8]

    public var count: Int { labels.count }

    public init(images: SparseRows, labels: [UInt8]) {
        precondition(images.rowCount == labels.count)
        self.images = images
        self.labels = labels
    }

    /// Rows `range` as a new set.
    public func slice(_ range: Range<Int>) -> LabeledImages {
        let first = Int(images.rowStart[range.lowerBound])
        let last = Int(images.rowStart[range.upperBound])
        return LabeledImages(
            images: SparseRows(
                rowCount: range.count, columnCount: images.columnCount,
                rowStart: images.rowStart[range.lowerBound...range.upperBound].map { $0 - Int32(first) },
                column: Array(images.column[first..<last]), value: Array(images.value[first..<last])),
            labels: Array(labels[range]))
    }
}

/// The four IDX files of an MNIST-format dataset in one directory, under MNIST's names
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-…`).
public struct MNIST: Sendable {
    public static let classCount = 10

    public let directory: String
    public let training: LabeledImages
    public let test: LabeledImages
    /// CRC-32 of the four decompressed files in the order train images, train labels,
    /// test images, test labels, as `crc32:xxxxxxxx`: identifies the data a run saw.
    public let checksum: String
    public var inputSize: Int { training.images.columnCount }

    /// Loads and validates the dataset in `directory`.
    public static func load(directory: String) throws(DatasetError) -> MNIST {
        var crc: UInt = 0
        let training = try loadPair(directory, prefix: "train", crc: &crc)
        let test = try loadPair(directory, prefix: "t10k", crc: &crc)
        guard training.images.columnCount == test.images.columnCount else {
            throw .pixelCountMismatch(
                directory: directory, training: training.images.columnCount,
                test: test.images.columnCount)
        }
        let hex = String(crc, radix: 16)
        return MNIST(
            directory: directory, training: training, test: test,
            checksum: "crc32:" + String(repeating: "0", count: 8 - hex.count) + hex)
    }

    /// The standard split: the first `count − validationSize` training images train (only the
    /// first `trainLimit` of them when given), the last `validationSize` validate.
    public func split(validationSize: Int, trainLimit: Int? = nil) throws(DatasetError)
        -> (train: LabeledImages, validation: LabeledImages)
    {
        let total = training.count
        guard validationSize >= 1, validationSize < total else {
            throw .validationSizeOutOfRange(requested: validationSize, trainingImages: total)
        }
        let available = total - validationSize
        if let trainLimit, trainLimit < 1 || trainLimit > available {
            throw .trainLimitOutOfRange(requested: trainLimit, available: available)
        }
        return (training.slice(0..<(trainLimit ?? available)), training.slice(available..<total))
    }

    public static func fileName(_ prefix: String, _ kind: String) -> String {
        kind == "images" ? "\(prefix)-images-idx3-ubyte" : "\(prefix)-labels-idx1-ubyte"
    }

    private static func loadPair(_ directory: String, prefix: String, crc: inout UInt)
        throws(DatasetError) -> LabeledImages
    {
        let imagesPath = try locate(directory, fileName(prefix, "images"))
        let labelsPath = try locate(directory, fileName(prefix, "labels"))
        let images = try IDXArray.read(path: imagesPath, rank: 3)
        let labels = try IDXArray.read(path: labelsPath, rank: 1)
        crc = crc32(images.bytes, continuing: crc32(labels.bytes, continuing: crc))
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw .countMismatch(
                imagesPath: imagesPath, images: images.dimensions[0], labelsPath: labelsPath,
                labels: labels.dimensions[0])
        }
        guard images.dimensions[0] > 0, images.dimensions[1] * images.dimensions[2] > 0 else {
            throw .noPixels(path: imagesPath)
        }
        // Sparse rows index a pixel with a UInt16.
        guard images.dimensions[1] * images.dimensions[2] <= Int(UInt16.max) + 1 else {
            throw .imagesTooLarge(
                path: imagesPath, height: images.dimensions[1], width: images.dimensions[2])
        }
        if let bad = labels.bytes.firstIndex(where: { $0 >= classCount }) {
            throw .labelOutOfRange(path: labelsPath, label: labels.bytes[bad], index: bad)
        }
        return LabeledImages(
            images: sparsePixels(images), labels: labels.bytes)
    }

    /// Pixels p ∈ 0…255 become p / 255, with zeros left out.
    private static func sparsePixels(_ images: IDXArray) -> SparseRows {
        let count = images.dimensions[0]
        let width = images.dimensions[1] * images.dimensions[2]
        let scale = (0...255).map { Float($0) / 255 }
        let nonzero = images.bytes.reduce(0) { $0 + ($1 == 0 ? 0 : 1) }
        var rowStart = [Int32](repeating: 0, count: count + 1)
        var column = [UInt16](repeating: 0, count: nonzero)
        var value = [Float](repeating: 0, count: nonzero)
        var e = 0
        images.bytes.withUnsafeBufferPointer { pixels in
            for r in 0..<count {
                for c in 0..<width where pixels[r * width + c] != 0 {
                    column[e] = UInt16(c)
                    value[e] = scale[Int(pixels[r * width + c])]
                    e += 1
                }
                rowStart[r + 1] = Int32(e)
            }
        }
        return SparseRows(
            rowCount: count, columnCount: width, rowStart: rowStart, column: column, value: value)
    }

    /// `name.gz` if present, else `name`.
    private static func locate(_ directory: String, _ name: String) throws(DatasetError) -> String {
        let base = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        for candidate in [base + ".gz", base] where access(candidate, F_OK) == 0 {
            return candidate
        }
        throw .missingFile(name: name, directory: directory)
    }
}
