"""The real/bogus vetting model of transient candidates (training side; serving is
:mod:`site_node.edge.vetting`)."""
