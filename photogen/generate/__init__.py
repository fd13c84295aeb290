"""Generation engine: model catalog and sources, ONNX export, ONNX Runtime sessions and pipelines.

Where each concern lives, from the top (what the CLI and UI call) down:

- `commands.py`: `photogen models ...` (list, info, download, import, export, delete) and
  `photogen generate ...`; its `GenerationEngine` sends requests with people to `identity/`.
- `engine.py`: `GenerationRequest` in, `GenerationResult` out; loads each export once and runs the mode.
- `pipelines.py`: text-to-image, restyle and background; `denoising.py`: the one loop they share;
  `stable_diffusion.py`: one exported model's sessions and its encode/UNet/decode calls.
- `person_mask.py`: who to keep in background mode (GrabCut seeded by the faces' `photogen.box.Box`es).
- `catalog.py`, `sources.py`, `download.py`, `tiny.py`, `sd15_config.py`: which models, and their weights.
- `export.py`, `validation.py`, `manifest.py`, `runtime.py`: ONNX export, its checks and record, sessions.
- `identity/`: people put into new images through an identity adapter inside the exported UNet.

Importing this package loads no model and imports no heavy library; modules import torch, diffusers
and onnxruntime inside the functions that need them.
"""
