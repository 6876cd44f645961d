"""Checks mnistlab's exported model files with the libraries people load them with.

Run by CLITests' ModelExportRuntimeTests in the virtual environment that .ci/run makes
(onnx, onnxruntime, safetensors, numpy). Prints one JSON object of findings; the Swift test
asserts on them, so a failure there shows the numbers.

  onnx PIXELS EXPECTED MODEL:TYPE...     for each MODEL, check_model, then ONNX Runtime on
                                         PIXELS (raw uint8, N x 784) fed as TYPE (float: /255,
                                         or uint8) against EXPECTED (`predict --json` output);
                                         one interpreter for all (importing onnxruntime costs
                                         about a CPU-second)
  safetensors FILE BLOB                  load FILE; its tensors' bytes against BLOB
"""
import json
import sys

import numpy as np


def check_onnx(model_path, pixels_path, expected_path, uint8):
    import onnx
    import onnxruntime

    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    images = np.fromfile(pixels_path, dtype=np.uint8).reshape(-1, 784)
    feed = images if uint8 else images.astype(np.float32) / np.float32(255)
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    inputs = [(i.name, i.type, i.shape) for i in session.get_inputs()]
    outputs = [(o.name, o.type, o.shape) for o in session.get_outputs()]
    (probabilities,) = session.run(["probabilities"], {"image": feed})
    with open(expected_path) as f:
        expected = np.array([p["probabilities"] for p in json.load(f)], dtype=np.float64)
    difference = np.abs(probabilities.astype(np.float64) - expected)
    return {
        "images": int(len(images)),
        "inputs": [[n, t, [str(d) for d in s]] for n, t, s in inputs],
        "outputs": [[n, t, [str(d) for d in s]] for n, t, s in outputs],
        "max_difference": float(difference.max()),
        "argmax_disagreements": int((probabilities.argmax(1) != expected.argmax(1)).sum()),
        "metadata": {p.key: p.value for p in model.metadata_props},
        "producer": model.producer_name,
        "doc_string": model.doc_string,
    }


def check_safetensors(path, blob_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    tensors = load_file(path)
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
        names = list(f.keys())
    names.sort(key=lambda n: (int(n.split(".")[1]), n.split(".")[2] != "weight"))
    joined = b"".join(np.ascontiguousarray(tensors[n]).astype("<f4").tobytes() for n in names)
    with open(blob_path, "rb") as f:
        blob = f.read()
    return {
        "names": names,
        "shapes": [list(tensors[n].shape) for n in names],
        "dtypes": [str(tensors[n].dtype) for n in names],
        "bytes_equal": joined == blob,
        "metadata": metadata,
    }


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "onnx":
        pixels, expected, *models = arguments
        result = {}
        for model in models:
            path, kind = model.rsplit(":", 1)
            result[path] = check_onnx(path, pixels, expected, uint8=kind == "uint8")
    else:
        result = check_safetensors(*arguments)
    print(json.dumps(result))
