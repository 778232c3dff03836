#!/usr/bin/env python3
"""Write the weight-holding layers of Keras Applications models as small JSON fixtures.

For each model named on the command line (a `keras.applications` constructor such as
InceptionV3 or Xception), builds it with the 1000-class top and `weights=None` (nothing is
downloaded), in a fresh process so Keras's automatic layer names (`conv2d`, `conv2d_1`, ...)
start from zero as they do for a user, and writes
`<output>/<Model>.json`:

    {"application": "InceptionV3", "keras_version": "3.x", "total_params": 23851784,
     "layers": [{"name": "conv2d", "class": "Conv2D",
                 "weights": [{"name": "kernel", "shape": [3, 3, 3, 32]}]}, ...]}

Layers are in `model.layers` order; weights in the layer's own order. The Swift tests check
the architectures' Keras-name mappings against these files.

Needs `keras` (3.x) and one backend: `pip install keras jax` then
  KERAS_BACKEND=jax python tools/keras_layer_list.py InceptionV3 Xception \
      --output Tests/ModelsTests/Fixtures/keras
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def describe(application: str) -> dict:
    import keras

    model = getattr(keras.applications, application)(weights=None, include_top=True, classes=1000)
    layers = []
    for layer in model.layers:
        if not layer.weights:
            continue
        layers.append({
            "name": layer.name,
            "class": type(layer).__name__,
            "weights": [{"name": w.path.split("/")[-1], "shape": [int(d) for d in w.shape]} for w in layer.weights],
        })
    return {"application": application, "keras_version": keras.__version__,
            "total_params": int(model.count_params()), "layers": layers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("applications", nargs="+", help="keras.applications constructor names")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.single:
        (application,) = args.applications
        data = describe(application)
        layers = ",\n  ".join(json.dumps(layer) for layer in data.pop("layers"))
        print(json.dumps(data)[:-1] + f', "layers": [\n  {layers}\n]}}')
        return
    args.output.mkdir(parents=True, exist_ok=True)
    for application in args.applications:
        # One process per model: Keras's name counters are global to a session.
        text = subprocess.run([sys.executable, __file__, "--single", application, "--output", str(args.output)],
                              check=True, capture_output=True, text=True).stdout
        (args.output / f"{application}.json").write_text(text)
        data = json.loads(text)
        print(f"{application}: {len(data['layers'])} weight layers, {data['total_params']:,} params", file=sys.stderr)


if __name__ == "__main__":
    main()
