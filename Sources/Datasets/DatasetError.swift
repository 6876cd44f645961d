/// Why a dataset cannot be used. `description` is one plain sentence naming the file (or the
/// directory) and what is wrong with it, with no command-line flag in it: the CLI words the
/// cases a flag can fix.
public enum DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Neither `name.gz` nor `name` is in `directory`.
    case missingFile(name: String, directory: String)
    /// Nothing exists at `path`.
    case noSuchFile(path: String)
    /// `path` is a directory, a device or another file that is not a regular one.
    case notARegularFile(path: String)
    /// The system could not open or read `path`.
    case unreadable(path: String, reason: String)
    /// The content of `path` (decompressed when it is gzip) is not a usable IDX array.
    case malformed(path: String, IDXProblem)
    /// An images file and its labels file disagree on how many items they hold.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// The images file holds no image, or images of no pixel.
    case noPixels(path: String)
    /// Images of `height`×`width` pixels, more than a sparse row can index (65,536).
    case imagesTooLarge(path: String, height: Int, width: Int)
    /// The label at `index` is not a digit 0–9.
    case labelOutOfRange(path: String, label: UInt8, index: Int)
    /// Training and test images of different sizes.
    case pixelCountMismatch(directory: String, training: Int, test: Int)
    /// A validation set of `requested` images, not between 1 and `trainingImages` − 1.
    case validationSizeOutOfRange(requested: Int, trainingImages: Int)
    /// A training limit of `requested` images, not between 1 and the `available` images that
    /// are not held out for validation.
    case trainLimitOutOfRange(requested: Int, available: Int)

    public var description: String {
        switch self {
        case .missingFile(let name, let directory):
            "Cannot find \(name).gz (or \(name)) in \(directory)."
        case .noSuchFile(let path):
            Self.file(path, "no such file")
        case .notARegularFile(let path):
            Self.file(path, "not a regular file")
        case .unreadable(let path, let reason):
            Self.file(path, reason)
        case .malformed(let path, let problem):
            Self.file(path, problem.description)
        case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
            "Cannot use the dataset: \(imagesPath) has \(images) images but \(labelsPath) has "
                + "\(labels) labels."
        case .noPixels(let path):
            Self.file(path, "holds no pixels")
        case .imagesTooLarge(let path, let height, let width):
            Self.file(
                path,
                "images of \(height)×\(width) pixels exceed the 65,536 pixels an image can have")
        case .labelOutOfRange(let path, let label, let index):
            Self.file(path, "label \(label) at index \(index) is not a digit 0–9")
        case .pixelCountMismatch(let directory, let training, let test):
            "Cannot use the dataset in \(directory): training images have \(training) pixels, "
                + "test images \(test)."
        case .validationSizeOutOfRange(let requested, let total):
            "Validation size must be between 1 and \(total - 1) for \(total) training images; "
                + "got \(requested)."
        case .trainLimitOutOfRange(let requested, let available):
            "Train limit must be between 1 and \(available) (training images not held out for "
                + "validation); got \(requested)."
        }
    }

    private static func file(_ path: String, _ problem: String) -> String {
        "Cannot read dataset file \(path): \(problem)."
    }
}

/// What is wrong with the content of an IDX file of unsigned bytes, or with the gzip stream
/// around it. `description` is a phrase ("header is truncated") for `DatasetError`'s sentence.
public enum IDXProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer than the 4 bytes of the magic number.
    case tooShort
    /// The magic number is not 00 00 08 <rank> (unsigned bytes).
    case notUnsignedBytes(magic: [UInt8])
    /// The magic number's rank is not the one expected (3 for images, 1 for labels).
    case wrongRank(expected: Int, found: Int)
    /// The file ends inside the dimensions.
    case truncatedHeader
    /// Dimensions whose product does not fit in an Int.
    case dimensionsTooLarge([Int])
    /// The data after the header is not as long as the dimensions say.
    case wrongLength(dimensions: [Int], expected: Int, found: Int)
    /// The gzip stream ends early.
    case gzipTruncated
    /// zlib refused the gzip stream, for `reason`.
    case gzipCorrupt(reason: String)
    /// The decompressed content would exceed `limit` bytes.
    case gzipTooLarge(limit: Int)
    /// zlib could not be initialised.
    case zlibFailed

    public var description: String {
        switch self {
        case .tooShort:
            "file is empty or too short for an IDX header"
        case .notUnsignedBytes(let magic):
            "not an IDX file of unsigned bytes (magic "
                + magic.map { String($0, radix: 16) }.joined(separator: " ") + ")"
        case .wrongRank(let expected, let found):
            "expected \(expected) dimensions, found \(found)"
        case .truncatedHeader:
            "header is truncated"
        case .dimensionsTooLarge(let dimensions):
            "dimensions \(Self.shape(dimensions)) are too large"
        case .wrongLength(let dimensions, let expected, let found):
            "dimensions \(Self.shape(dimensions)) need \(expected) bytes of data, found \(found)"
                + (found < expected ? " (truncated)" : "")
        case .gzipTruncated:
            "gzip data is truncated"
        case .gzipCorrupt(let reason):
            "gzip data is corrupt (\(reason))"
        case .gzipTooLarge(let limit):
            "data exceeds \(limit) bytes"
        case .zlibFailed:
            "zlib could not start"
        }
    }

    private static func shape(_ dimensions: [Int]) -> String {
        dimensions.map(String.init).joined(separator: "×")
    }
}
