"""``openastro visibility``: a night's observable windows of a target list, per telescope.

The windows come from the constraints plugin's own code
(:mod:`plugins.constraints.visibility`): twilight, altitude with the horizon
map, airmass and Moon distance, on a fine time grid. The target list is a CSV
file with a header: ``name``, ``ra``, ``dec`` (decimal degrees, or
sexagesimal ``hh:mm:ss`` for RA and ``dd:mm:ss`` for Dec) and, optionally,
``kind``, ``filter``, ``not_before`` and ``not_after`` (ISO times, UTC when
no zone is given); other columns are ignored.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path

REQUIRED_COLUMNS = ("name", "ra", "dec")
OPTIONAL_COLUMNS = ("kind", "filter", "not_before", "not_after")
KINDS = ("science", "survey", "followup", "calibration", "opportunistic")

_SEXAGESIMAL = re.compile(r"^([+-]?)(\d{1,3})[:\s]+(\d{1,2})(?:[:\s]+(\d{1,2}(?:\.\d*)?))?$")


class TargetRowError(ValueError):
    """One row of the target list is invalid; the message names the row and the value."""


def add_visibility_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``visibility`` to the ``openastro`` sub-commands."""
    p = commands.add_parser(
        "visibility", help="a night's observable windows of targets from each telescope",
        description="For each target of a CSV list and each telescope, the windows of the "
                    "night during which the target is observable (Sun below the twilight "
                    "limit, above the telescope's altitude limit and the site's horizon, "
                    "airmass and Moon distance within the limits), with the highest "
                    "altitude and the hours.")
    p.add_argument("--network", metavar="FILE.toml",
                   help="network description (default: the shipped three-site network)")
    p.add_argument("--targets", required=True, metavar="FILE.csv",
                   help="targets: name, ra, dec [, kind, filter, not_before, not_after]")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD",
                   help="the night starting on the evening of this date (local to each site)")
    p.add_argument("--filter", metavar="F", help="only telescopes with this filter can "
                   "observe a target (a 'filter' column overrides it per target)")
    p.add_argument("--telescope", action="append", metavar="NAME",
                   help="only this telescope (repeatable; default: all)")
    p.add_argument("--step", type=float, default=60.0, metavar="SECONDS",
                   help="time grid step; edges are interpolated (default 60)")
    p.add_argument("--json", action="store_true", help="print the windows as JSON")
    p.set_defaults(func=run_visibility)


def _fail(message: str) -> int:
    print(f"openastro: error: {message}", file=sys.stderr)
    return 2


def run_visibility(args: argparse.Namespace) -> int:
    from control_center.network import NetworkFileError, load_network

    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        return _fail(f"--date {args.date!r} is not a date (YYYY-MM-DD)")
    if not 1.0 <= args.step <= 3600.0:
        return _fail(f"--step must be in [1, 3600] seconds, got {args.step:g}")
    try:
        network = load_network(args.network)
    except NetworkFileError as exc:
        return _fail(str(exc))
    names = [t.name for _, t in network.telescopes()]
    unknown = [n for n in args.telescope or () if n not in names]
    if unknown:
        return _fail(f"no telescope {unknown[0]!r} in {network.name!r}; "
                     f"available: {', '.join(names)}")
    filters = sorted({f for _, t in network.telescopes() for f in t.filters})
    if args.filter is not None and args.filter not in filters:
        return _fail(f"--filter {args.filter!r}: no telescope of {network.name!r} has it; "
                     f"filters: {', '.join(filters)}")
    try:
        targets, errors = read_targets(Path(args.targets))
    except OSError as exc:
        return _fail(f"{args.targets}: cannot read the target list ({exc.strerror or exc})")
    except UnicodeDecodeError:
        return _fail(f"{args.targets}: not UTF-8 text")
    except csv.Error as exc:
        return _fail(f"{args.targets}: not a valid CSV file ({exc})")
    except ValueError as exc:
        return _fail(str(exc))

    from plugins.constraints.visibility import network_visibility

    table = network_visibility(network, targets, day, step_s=args.step,
                               telescopes=args.telescope, default_filter=args.filter)
    if args.json:
        print(json.dumps({"network": network.name, "date": day.isoformat(),
                          "rows": [_as_dict(v) for v in table], "errors": errors}, indent=2))
    else:
        print(format_table(table, network.name, day))
    sys.stdout.flush()
    for message in errors:
        print(f"openastro: error: {message}", file=sys.stderr)
    return 1 if errors else 0


def read_targets(path: Path) -> tuple[list, list[str]]:
    """The valid targets of a CSV file, and one message per invalid row.

    Raises
    ------
    ValueError
        If the file has no header or lacks a required column (nothing can be read).
    OSError
        If the file cannot be read.
    """
    from plugins.constraints.visibility import Target

    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ValueError(f"{path}: empty file; expected a header with "
                             f"{', '.join(REQUIRED_COLUMNS)}")
        header = {(f or "").strip().lower(): f for f in reader.fieldnames}
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; the header "
                             f"has {', '.join(reader.fieldnames)}")
        targets, errors = [], []
        for row in reader:
            values = {c: (row.get(header[c]) or "").strip()
                      for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in header}
            if not any(values.values()):
                continue
            try:
                targets.append(Target(**_target_fields(values)))
            except TargetRowError as exc:
                label = f" ({values['name']})" if values.get("name") else ""
                errors.append(f"{path} row {reader.line_num}{label}: {exc}")
    return targets, errors


def _target_fields(values: dict[str, str]) -> dict:
    if not values["name"]:
        raise TargetRowError("name is empty")
    fields = {"name": values["name"], "ra_deg": parse_ra(values["ra"]),
              "dec_deg": parse_dec(values["dec"])}
    kind = values.get("kind") or "science"
    if kind not in KINDS:
        raise TargetRowError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    fields["kind"] = kind
    fields["filter"] = values.get("filter") or None
    for name in ("not_before", "not_after"):
        if values.get(name):
            fields[name] = _parse_time(name, values[name])
    if fields.get("not_before") and fields.get("not_after") and (
            fields["not_after"] <= fields["not_before"]):
        raise TargetRowError(f"not_after {values['not_after']!r} is not after not_before "
                             f"{values['not_before']!r}")
    return fields


def parse_ra(text: str) -> float:
    """Right ascension in degrees from decimal degrees or sexagesimal hours ``hh:mm:ss``.

    Raises
    ------
    TargetRowError
        Naming the value and what is wrong with it.
    """
    degrees = _decimal(text, "ra")
    if degrees is None:
        sign, hours, minutes, seconds = _sexagesimal(text, "ra", "hh:mm:ss")
        if sign == "-" or hours >= 24:
            raise TargetRowError(f"ra {text!r} is outside 00:00:00-23:59:59.99 (hours)")
        degrees = 15.0 * (hours + minutes / 60.0 + seconds / 3600.0)
    if not 0.0 <= degrees < 360.0:
        raise TargetRowError(f"ra {text!r} is outside [0, 360) degrees")
    return degrees


def parse_dec(text: str) -> float:
    """Declination in degrees from decimal degrees or sexagesimal ``[+-]dd:mm:ss``.

    Raises
    ------
    TargetRowError
        Naming the value and what is wrong with it.
    """
    degrees = _decimal(text, "dec")
    if degrees is None:
        sign, whole, minutes, seconds = _sexagesimal(text, "dec", "dd:mm:ss")
        degrees = (-1.0 if sign == "-" else 1.0) * (whole + minutes / 60.0 + seconds / 3600.0)
    if not -90.0 <= degrees <= 90.0:
        raise TargetRowError(f"dec {text!r} is outside [-90, 90] degrees")
    return degrees


def _decimal(text: str, column: str) -> float | None:
    if not text:
        raise TargetRowError(f"{column} is empty")
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        raise TargetRowError(f"{column} {text!r} is not a finite number")
    return value


def _sexagesimal(text: str, column: str, form: str) -> tuple[str, int, int, float]:
    match = _SEXAGESIMAL.match(text)
    if match is None:
        raise TargetRowError(f"{column} {text!r} is neither decimal degrees nor {form}")
    sign, whole, minutes, seconds = match.groups()
    minutes_i, seconds_f = int(minutes), float(seconds or 0.0)
    if minutes_i >= 60 or seconds_f >= 60.0:
        raise TargetRowError(f"{column} {text!r}: minutes and seconds must be below 60")
    return sign, int(whole), minutes_i, seconds_f


def _parse_time(column: str, text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise TargetRowError(f"{column} {text!r} is not an ISO date-time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _as_dict(v) -> dict:
    return {"target": v.target.name, "ra_deg": v.target.ra_deg, "dec_deg": v.target.dec_deg,
            "site": v.site, "telescope": v.telescope, "hours": round(v.hours, 3),
            "blocked_by": v.blocked_by,
            "windows": [{"start": w.start.isoformat(), "end": w.end.isoformat(),
                         "max_altitude_deg": w.max_altitude_deg, "hours": round(w.hours, 3)}
                        for w in v.windows]}


def format_table(table: list, network_name: str, day: date) -> str:
    """The windows as a plain-text table, one line per window (or per blocked pair)."""
    columns = ("target", "telescope", "site", "start UTC", "end UTC", "max alt", "hours")
    rows = []
    for v in table:
        if not v.windows:
            rows.append((v.target.name, v.telescope, v.site, "-", "-", "-",
                         f"0.00  not observable: {v.blocked_by}"))
        for w in v.windows:
            rows.append((v.target.name, v.telescope, v.site, f"{w.start:%Y-%m-%d %H:%M}",
                         f"{w.end:%Y-%m-%d %H:%M}", f"{w.max_altitude_deg:.1f}",
                         f"{w.hours:.2f}"))
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns) - 1)]

    def line(cells) -> str:
        fixed = "  ".join(c.ljust(w) if i < 5 else c.rjust(w)
                          for i, (c, w) in enumerate(zip(cells[:-1], widths, strict=True)))
        return f"{fixed}  {cells[-1]}".rstrip()

    title = (f"Observable windows, night of {day.isoformat()} (local noon to noon), "
             f"network {network_name!r}")
    legend = ("(Sun below the twilight limit, target above the telescope's altitude limit and "
              "the horizon, airmass and Moon distance within the limits)")
    out = [title, legend, "", line(columns), line(["-" * w for w in widths] + ["-----"])]
    out += [line(r) for r in rows]
    return "\n".join(out)
