/// A dataset that cannot be used, with one line saying which file and what is wrong.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }

    static func file(_ path: String, _ problem: String) -> DatasetError {
        DatasetError("Cannot read dataset file \(path): \(problem).")
    }
}
