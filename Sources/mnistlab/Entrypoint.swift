import MNISTLabCLI

@main
struct Entrypoint {
    static func main() { MNISTLab.main() }
}
