"""Tagging: text -> entities through a score backend (PyTorch or onnxruntime), ONNX export,
streaming files, process pools."""
