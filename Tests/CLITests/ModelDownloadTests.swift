import Foundation
import TestSupport
import Testing

/// The run page's model downloads (`/runs/ID/model.onnx`, `/runs/ID/model.safetensors`),
/// served by `mnistlab serve` over real HTTP: the bytes `export-model` writes.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct ModelDownloadTests {
    @Test(arguments: Sandbox.Store.all) func runPageOffersTheBestCheckpointInBothFormats(
        _ kind: Sandbox.Store
    ) throws {
        // Given a trained run, its best checkpoint exported, and a server on the store
        let sandbox = try Sandbox(kind)
        try sandbox.train(["--epochs", "3", "--keep-every", "1"])
        for name in ["model.onnx", "model.safetensors"] {
            #expect(try sandbox.run(["export-model", "1", "-o", name]).status == 0)
        }
        let best = try sandbox.run(["sql", "--csv", "SELECT best_epoch FROM run_summary WHERE id = 1"]).lines[1]
        let server = try RunningServer(sandbox)

        // When the run page and its downloads are fetched
        let page = try HTTP.get(server.port, "/runs/1")
        #expect(page.text.contains("<a href=\"/runs/1/model.onnx\" download>ONNX</a>"))
        #expect(page.text.contains("<a href=\"/runs/1/model.safetensors\" download>safetensors</a>"))
        for (route, file) in [("/runs/1/model.onnx", "model.onnx"), ("/runs/1/model.safetensors", "model.safetensors")] {
            let reply = try HTTP.get(server.port, route)

            // Then each is the file export-model wrote, as an attachment named after the run
            #expect(reply.status == 200, "\(route): \(reply.text.prefix(200))")
            #expect(reply.body == fileBytes(sandbox.directory.appendingPathComponent(file).path))
            let ext = file.split(separator: ".").last.map(String.init) ?? ""
            #expect(reply.headers["content-disposition"] == "attachment; filename=\"mnistlab-run-1-epoch-\(best).\(ext)\"")
            #expect(reply.headers["content-type"] == "application/octet-stream")
        }
        // and another kept epoch, an unknown run or epoch, or another file name is not found
        #expect(try HTTP.get(server.port, "/runs/1/model.onnx?epoch=1").status == 200)
        for (route, status) in [
            ("/runs/9/model.onnx", 404), ("/runs/1/model.onnx?epoch=7", 404),
            ("/runs/1/model.bin", 404), ("/runs/1/model.onnx?epoch=x", 400), ("/runs/x/model.onnx", 400),
        ] {
            #expect(try HTTP.get(server.port, route).status == status, "\(route)")
        }
    }
}
