"""Our own models: definitions and training (PyTorch), exported ONNX, model cards.

Not built yet (issues 6 and 7). Inference will use onnxruntime only; torch is
needed only to train (the ``train`` extra).
"""
