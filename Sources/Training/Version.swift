/// The version recorded in `runs.code_version` and printed by `mnistlab --version`.
public enum MNISTLabVersion {
    public static let current = "0.1.0"
}
