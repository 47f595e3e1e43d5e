"""The site node: one gRPC process per site (instrument backend, edge inference, outbox).

Not built yet (issue 3). Until it lands, ``openastro demo`` reaches simulated
sites in-process through :class:`control_center.night.SiteLink`, the same
interface the site-node client will implement.
"""
