"""The named-segment map: which R and F scores make Champions, At Risk, ... (pure, no pandas).

A map is written one segment a line, `Champions: R 5; F 4-5`, and must give every one of the
25 cells of the R-by-F grid exactly one segment. Merchants edit it in the plugin's settings.
"""

from collections.abc import Mapping

__all__ = [
    "DEFAULT_SEGMENTS",
    "DEFAULT_SEGMENT_MAP_TEXT",
    "SEGMENT_NAMES",
    "format_segment_map",
    "parse_segment_map",
    "segment_cells",
    "segment_of",
    "segment_reason",
]

SegmentMap = Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]]

# The common published R/F map: segment -> (R scores, F scores). Every one of the 25 cells
# belongs to exactly one segment.
DEFAULT_SEGMENTS = {
    "Champions": ((5,), (4, 5)),
    "Loyal": ((3, 4), (4, 5)),
    "Potential Loyalist": ((4, 5), (2, 3)),
    "New": ((5,), (1,)),
    "Promising": ((4,), (1,)),
    "Need Attention": ((3,), (3,)),
    "About to Sleep": ((3,), (1, 2)),
    "At Risk": ((1, 2), (3, 4)),
    "Can't Lose Them": ((1, 2), (5,)),
    "Hibernating": ((2,), (1, 2)),
    "Lost": ((1,), (1, 2)),
}
SEGMENT_NAMES = tuple(DEFAULT_SEGMENTS)


def segment_cells(segments: SegmentMap) -> dict[tuple[int, int], str]:
    """Return the segment of each (R, F) cell."""
    cells = {}
    for name, (r_scores, f_scores) in segments.items():
        for r in r_scores:
            for f in f_scores:
                cells[(r, f)] = name
    return cells


def parse_segment_map(text: str) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Read a segment map written one segment a line: `Champions: R 5; F 4-5`.

    Raises ValueError naming the line when a line is malformed, a score is outside 1-5, a cell
    is claimed twice, or a cell of the 5x5 grid has no segment.
    """
    segments: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    owner: dict[tuple[int, int], str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, spec = line.partition(":")
        parts = {p.strip()[:1].upper(): p.strip()[1:].strip() for p in spec.split(";") if p.strip()}
        if not colon or not name.strip() or set(parts) != {"R", "F"}:
            raise ValueError(f"line {number}: write it as 'Name: R 4-5; F 1-2', not '{line}'")
        scores = {}
        for axis, text_range in parts.items():
            low, dash, high = text_range.partition("-")
            try:
                first, last = int(low), int(high if dash else low)
            except ValueError:
                raise ValueError(
                    f"line {number}: '{text_range}' is not a score or a range like 2-4"
                ) from None
            if not 1 <= first <= last <= 5:
                raise ValueError(f"line {number}: {axis} {text_range} is outside 1-5")
            scores[axis] = tuple(range(first, last + 1))
        name = name.strip()
        for cell in ((r, f) for r in scores["R"] for f in scores["F"]):
            if cell in owner:
                raise ValueError(
                    f"line {number}: R {cell[0]}, F {cell[1]} already belongs to {owner[cell]}"
                )
            owner[cell] = name
        segments[name] = (scores["R"], scores["F"])
    missing = [f"R {r}, F {f}" for r in range(1, 6) for f in range(1, 6) if (r, f) not in owner]
    if missing:
        raise ValueError("no segment for " + ", ".join(missing))
    return segments


def segment_of(r: int, f: int, segments: SegmentMap | None = None) -> str:
    """Return the named segment of an R and F score."""
    return segment_cells(segments or DEFAULT_SEGMENTS)[(r, f)]


def _scores(scores: tuple[int, ...]) -> str:
    return str(scores[0]) if len(scores) == 1 else f"{scores[0]}-{scores[-1]}"


def segment_reason(name: str, r: int, f: int, segments: SegmentMap | None = None) -> str:
    """Why R and F make the segment, in the map's own words: `R 5, F 4: Champions is R 5; F 4-5`.

    A segment the map no longer has (renamed since the customer was scored) says so.
    """
    segments = segments or DEFAULT_SEGMENTS
    if name not in segments:
        return f"R {r}, F {f}: {name} (a segment of an earlier map, until the next scoring)"
    r_scores, f_scores = segments[name]
    return f"R {r}, F {f}: {name} is R {_scores(r_scores)}; F {_scores(f_scores)}"


def format_segment_map(segments: SegmentMap) -> str:
    """Write a map the way `parse_segment_map` reads it (a contiguous range per axis)."""
    return "\n".join(f"{name}: R {_scores(r)}; F {_scores(f)}" for name, (r, f) in segments.items())


DEFAULT_SEGMENT_MAP_TEXT = format_segment_map(DEFAULT_SEGMENTS)
