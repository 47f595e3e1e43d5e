"""Our own models: definitions and training (PyTorch), exported ONNX, model cards.

One package per model family (``anomaly``, ``vetting``, ``calibration``, ``fusion``,
``scheduler``), each with its training entry point (``train.py``), evaluation, card and
shipped ONNX files; :mod:`models.catalogue` lists them for the model registry.
Serving (what the site node, the control center and the plugins import) needs only
onnxruntime and numpy (:mod:`models.onnx_session`); torch is needed only to train (the
``train`` extra). See ``models/README.md`` for every measured metric.
"""
