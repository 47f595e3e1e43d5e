"""Fusion of measurements and images of the same target from several sites.

- :mod:`models.fusion.inverse_variance`: the exact baseline, generalised least
  squares (inverse-variance weighting with the full covariance), numpy only.
- :mod:`models.fusion.simulate`: simulated multi-site photometry whose reported
  uncertainties are wrong in site- and condition-dependent ways.
- :mod:`models.fusion.model` (torch) and :mod:`models.fusion.serve` (onnxruntime):
  the learned fusion, an error model that rescales each reported uncertainty
  from its metadata before the exact GLS combination.
- :mod:`models.fusion.coadd`: image coaddition (Zackay & Ofek 2017 proper
  coaddition, and weighted-sum baselines) with matched-filter S/N.

``python -m models.fusion.train`` trains and writes ``fusion-v1.onnx`` + ``.json`` +
``card.md`` here; ``python -m models.fusion.evaluate`` re-evaluates the shipped file.
"""
