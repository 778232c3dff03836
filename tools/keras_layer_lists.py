#!/usr/bin/env python3
"""Writes the Keras Applications layer lists the Keras-name mapping tests check against.

For each architecture (by its `skinlesion --arch` name), `keras.applications.X(weights=None)`
is built (nothing is downloaded) in a fresh process, so Keras's automatic layer names
(`conv2d`, `conv2d_1`, ...) start from zero as they do for a user, and
`<output>/<arch>.json` lists every layer that holds weights, in `model.layers` order:

    {"application": "InceptionV3", "keras_version": "3.x", "total_params": 23851784,
     "layers": [{"name": "conv2d", "class": "Conv2D",
                 "weights": [{"name": "kernel", "shape": [3, 3, 3, 32]}]}, ...]}

`total_params` is `model.count_params()`, Keras's "Total params" (moving statistics included).

Needs keras 3 and a backend, only to regenerate the fixtures (the tests read the JSON);
scripts/setup installs keras with PyTorch's CPU wheel as its backend into .build/venv:
  KERAS_BACKEND=torch .build/venv/bin/python tools/keras_layer_lists.py [--output DIR] [arch ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# --arch name -> (keras.applications constructor, keyword arguments)
APPLICATIONS = {
    "resnet50-keras": ("ResNet50", {}),
    "vgg19": ("VGG19", {}),
    "vgg19-notop": ("VGG19", {"include_top": False, "input_shape": (224, 224, 3)}),
    "resnet50v2": ("ResNet50V2", {}),
    "densenet121": ("DenseNet121", {}),
    "inceptionv3": ("InceptionV3", {}),
    "xception": ("Xception", {}),
}


def describe(arch: str) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    application, kwargs = APPLICATIONS[arch]
    model = getattr(keras.applications, application)(weights=None, **kwargs)
    layers = [{"name": layer.name, "class": type(layer).__name__,
               "weights": [{"name": w.path.split("/")[-1], "shape": [int(d) for d in w.shape]} for w in layer.weights]}
              for layer in model.layers if layer.weights]
    return {"application": application, "keras_version": keras.__version__,
            "total_params": int(model.count_params()), "layers": layers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "Tests/ModelsTests/Fixtures/keras"
    parser.add_argument("archs", nargs="*", metavar="arch", help=f"default: all of {', '.join(APPLICATIONS)}")
    parser.add_argument("--output", type=Path, default=default)
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    unknown = set(args.archs) - set(APPLICATIONS)
    if unknown:
        parser.error(f"unknown architectures {sorted(unknown)}")
    args.archs = args.archs or list(APPLICATIONS)
    if args.single:
        data = describe(args.archs[0])
        # One layer per line: small diffs when Keras changes.
        layers = ",\n  ".join(json.dumps(layer) for layer in data.pop("layers"))
        print(json.dumps(data)[:-1] + f', "layers": [\n  {layers}\n]}}')
        return
    args.output.mkdir(parents=True, exist_ok=True)
    for arch in args.archs:
        # One process per model: Keras's name counters are global to a session.
        text = subprocess.run([sys.executable, __file__, "--single", arch], check=True, capture_output=True,
                              text=True).stdout
        (args.output / f"{arch}.json").write_text(text)
        data = json.loads(text)
        print(f"{arch}: {len(data['layers'])} weight layers, {data['total_params']:,} params", file=sys.stderr)


if __name__ == "__main__":
    main()
