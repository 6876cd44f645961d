/// Settings every command shares unless told otherwise, in one place. The seed network's own
/// settings (hidden 100, sigmoid, lr 0.1, batch 200, 1000 epochs) are `Hyperparameters()`.
public enum Defaults {
    /// Keep a checkpoint every this many epochs, besides the best and the last.
    public static let keepEvery = 50
    /// Seconds a run stays held by its process without a sign of life (see `Lease`).
    public static let leaseSeconds: Double = 30
}
