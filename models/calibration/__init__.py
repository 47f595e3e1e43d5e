"""Site calibration (issue 6, model 3).

* :mod:`.photometric`: one site's photometric calibration from matched catalogue stars
  (numpy only; ``fit_site_calibration`` -> ``SiteCalibration``).
* :mod:`.network_fit`: the joint calibration of every site over many nights.
* :mod:`.serve`: the shipped site-invariant star/galaxy classifier (onnxruntime).
* :mod:`.simulate`, :mod:`.cutouts`, :mod:`.crosssite`: data from the simulator and the
  cross-site evaluation; :mod:`.model`, :mod:`.domain`, :mod:`.train`, :mod:`.export`,
  :mod:`.card`, :mod:`.evaluate`: training side (torch).
"""
