"""Write the binary-heavy alert fixtures of this folder (run from the repository root).

The skymaps are simulated (``simulator.alerts``) with a fixed seed; the
notices around them follow the IGWN GCN Kafka schema and the LVK VOEvents.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from simulator.alerts import gw_skymap, igwn_notice, skymap_fits

HERE = Path(__file__).parent
CREATED = datetime(2025, 1, 15, 2, 44, 51, tzinfo=UTC)
MERGER = datetime(2025, 1, 15, 2, 38, 21, 512000, tzinfo=UTC)


def main() -> None:
    prob = gw_skymap(np.random.default_rng(20250115), 96.0, -28.0, nside=32, arc=True)
    (HERE / "bayestar.fits.gz").write_bytes(gzip.compress(skymap_fits(prob, "RING"), mtime=0))
    classification = {"BNS": 0.93, "NSBH": 0.05, "BBH": 0.0, "Terrestrial": 0.02}
    (HERE / "igwn_S250115ab_preliminary.json").write_bytes(igwn_notice(
        "S250115ab", alert_type="PRELIMINARY", time_created=CREATED, event_time=MERGER,
        skymap=skymap_fits(prob, "NUNIQ", coarsen_below=1e-5), significant=True,
        classification=classification, far=9.1e-14))
    (HERE / "igwn_S250115ab_retraction.json").write_bytes(igwn_notice(
        "S250115ab", alert_type="RETRACTION", time_created=CREATED.replace(hour=3)))


if __name__ == "__main__":
    main()
