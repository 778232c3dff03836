#!/usr/bin/env python3
"""Writes the Keras Applications layer lists the Keras-name mapping tests check against.

For each architecture, `keras.applications.X(weights=None)` is built (no download) and every
layer that holds weights is listed in `model.layers` order with the shape of each weight
array, plus `model.count_params()` (Keras's "Total params", moving statistics included).
Output: one small JSON file per model under Tests/ModelsTests/Fixtures/keras/.

Needs keras 3 and a backend; the numpy backend imports jax, so:
  python -m venv /tmp/k && /tmp/k/bin/pip install keras jax h5py
  KERAS_BACKEND=numpy /tmp/k/bin/python tools/keras_layer_lists.py [--output DIR]
These packages are needed only to regenerate the fixtures, not to run the tests.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "numpy")
import keras  # noqa: E402

# fixture name -> builder
MODELS = {
    "vgg19": lambda: keras.applications.VGG19(weights=None),
    "vgg19_notop": lambda: keras.applications.VGG19(weights=None, include_top=False, input_shape=(224, 224, 3)),
    "resnet50v2": lambda: keras.applications.ResNet50V2(weights=None),
    "densenet121": lambda: keras.applications.DenseNet121(weights=None),
}


def layer_list(model) -> dict:
    layers = [{"name": layer.name, "weights": [list(map(int, w.shape)) for w in layer.weights]}
              for layer in model.layers if layer.weights]
    return {"keras": keras.__version__, "model": model.name, "total_params": int(model.count_params()),
            "layers": layers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "Tests/ModelsTests/Fixtures/keras"
    parser.add_argument("--output", type=Path, default=default)
    parser.add_argument("models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    for name in args.models:
        listing = layer_list(MODELS[name]())
        path = args.output / f"{name}.json"
        # One layer per line: small diffs when Keras changes.
        lines = [json.dumps(layer, separators=(",", ":")) for layer in listing.pop("layers")]
        head = json.dumps(listing, separators=(", ", ": "))[:-1]
        path.write_text(head + ', "layers": [\n' + ",\n".join(lines) + "\n]}\n")
        print(f"{name}: {len(lines)} layers with weights, {listing['total_params']:,} params -> {path}")


if __name__ == "__main__":
    main()
