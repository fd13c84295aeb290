"""Generation engine: model catalog and sources, ONNX export, ONNX Runtime sessions and pipelines.

Importing this package loads no model and imports no heavy library; modules import torch, diffusers
and onnxruntime inside the functions that need them.
"""
