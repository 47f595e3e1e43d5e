"""The anomaly autoencoder: model, dataset, training, export and evaluation.

``python -m models.anomaly.train`` trains it on simulated frames and writes
``anomaly-vN.onnx`` + ``anomaly-vN.json`` + ``card.md`` here;
``python -m models.anomaly.evaluate`` scores the shipped file per anomaly kind.
The site node serves the ONNX file with onnxruntime
(:mod:`site_node.edge.anomaly`); only training needs torch (the ``train`` extra).
"""
