import Foundation

/// The Python of the tests' own virtual environment, which `.ci/run` makes in
/// `.build/test-pyenv` (onnx, onnxruntime, safetensors, optuna, scikit-learn and numpy from
/// PyPI) and names in MNISTLAB_TEST_PYTHON. Tests that need it are skipped without it, except
/// under CI=true, where they run and fail if it is missing.
public enum TestPython {
    public static let path: String? = ProcessInfo.processInfo.environment["MNISTLAB_TEST_PYTHON"]
        .flatMap { $0.isEmpty ? nil : $0 }
    /// Under CI the tests run, and fail if the environment is missing.
    public static let enabled = path != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// The path of `Tests/Python/<name>`.
    public static func script(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/Python/\(name)").path
    }
}
