/// The default of every setting, in one place. `train`, `sweep`, `bench` and the help texts
/// read them from here; the seed configuration itself is `Hyperparameters()`. Durations
/// (the lease among them) are `Timeouts`, in Store.
public enum Defaults {
    /// The seed's experiment: 784-100-10 sigmoid, cross-entropy, lr 0.1, batch 200,
    /// momentum 0, 1000 epochs, seed 1.
    public static let hyperparameters = Hyperparameters()
    /// A checkpoint is kept every this many epochs, besides the best and the last.
    public static let keepEvery = 50
    /// Training images held out, from the end of the training set, for validation.
    public static let validationSize = 10_000
    /// Epochs each run of a `sweep` trains (shorter than a single run's 1000).
    public static let sweepEpochs = 20
}
