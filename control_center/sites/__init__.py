"""The control center's side of the site nodes.

``certs``      local CA, site certificates and tokens (``openastro certs init``).
``client``     :class:`~control_center.sites.client.SiteNodeClient` (every RPC, deadlines,
               token, health) and :class:`~control_center.sites.client.ResultFollower`.
``health``     reconnection :class:`~control_center.sites.health.Backoff` and the
               online/degraded/offline :class:`~control_center.sites.health.LinkHealth`.
``link``       :class:`~control_center.sites.link.GrpcSiteLink`: the night loop's
               ``SiteLink`` over a site node.
``processes``  :class:`~control_center.sites.processes.LocalSiteNodes`: one local
               site-node process per site (the demo, the tests).

Nothing here is imported by ``control_center`` itself at import time.
"""
