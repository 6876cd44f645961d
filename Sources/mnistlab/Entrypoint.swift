import MNISTLabCLI

@main
struct Entrypoint {
    static func main() async { await MNISTLab.main() }
}
