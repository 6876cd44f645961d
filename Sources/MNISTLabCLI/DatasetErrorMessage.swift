import Datasets

/// The line the CLI prints for a dataset error, or nil for any other error. Datasets says
/// what is wrong in plain words; here the cases a flag fixes get the flag.
func datasetMessage(for error: Error) -> String? {
    guard let error = error as? DatasetError else { return nil }
    switch error {
    case .missingFile(let name, let directory):
        return "Cannot find \(name).gz (or \(name)) in \(directory); --data must name a "
            + "directory holding the four MNIST IDX files."
    default:
        return error.description
    }
}
