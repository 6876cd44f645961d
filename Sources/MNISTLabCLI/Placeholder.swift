import ArgumentParser

public struct MNISTLab: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "mnistlab")
}
