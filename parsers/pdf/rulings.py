"""Ruling segments into grids: segments snapped and joined, touching segments grouped
into tables, grid boxes merged into cells wherever no ruling separates them."""

from __future__ import annotations

from xxgk.parsers.pdf.model import SLIVER, SNAP, THIN, Cell, Grid, Seg


def _add_line(hs: list, vs: list, x0: float, top: float, x1: float, bottom: float) -> None:
    if bottom - top <= THIN and x1 - x0 > THIN:
        hs.append(Seg((top + bottom) / 2, x0, x1))
    elif x1 - x0 <= THIN and bottom - top > THIN:
        vs.append(Seg((x0 + x1) / 2, top, bottom))


def _join(segs: list[Seg]) -> list[Seg]:
    """Snap rulings to shared positions and join pieces that touch along one line."""
    segs.sort(key=lambda s: s.pos)
    groups: list[list[Seg]] = []
    for seg in segs:
        if groups and seg.pos - groups[-1][-1].pos <= SNAP:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    joined = []
    for group in groups:
        pos = sum(s.pos for s in group) / len(group)
        for seg in sorted(group, key=lambda s: s.lo):
            if joined and joined[-1].pos == pos and seg.lo <= joined[-1].hi + SNAP:
                joined[-1].hi = max(joined[-1].hi, seg.hi)
            else:
                joined.append(Seg(pos, seg.lo, seg.hi))
    return joined


def _grids(segments: tuple[list[Seg], list[Seg]]) -> list[Grid]:
    """Tables: groups of touching rulings with at least two rows and two columns."""
    hs, vs = segments
    parent = list(range(len(hs) + len(vs)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, h in enumerate(hs):
        for b, v in enumerate(vs):
            if _touch(h, v):
                parent[find(a)] = find(len(hs) + b)
    groups: dict[int, tuple[list[Seg], list[Seg]]] = {}
    for k, seg in enumerate(hs + vs):
        groups.setdefault(find(k), ([], []))[0 if k < len(hs) else 1].append(seg)
    grids = [g for g in (_grid(h, v) for h, v in groups.values()) if g is not None]
    return [g for g in grids if not any(_inside(o, g) for o in grids if o is not g)]


def _touch(h: Seg, v: Seg) -> bool:
    return h.lo - SNAP <= v.pos <= h.hi + SNAP and v.lo - SNAP <= h.pos <= v.hi + SNAP


def _inside(inner: Grid, outer: Grid) -> bool:
    """A frame drawn around other tables (a page border) is not itself a table."""
    a, b = inner.bbox, outer.bbox
    return a[0] >= b[0] - SNAP and a[1] >= b[1] - SNAP and a[2] <= b[2] + SNAP and a[3] <= b[3] + SNAP


def _positions(segs: list[Seg]) -> list[float]:
    out: list[float] = []
    for pos in sorted(s.pos for s in segs):
        if not out or pos - out[-1] > SNAP:
            out.append(pos)
    return out


def _grid(hs: list[Seg], vs: list[Seg]) -> Grid | None:
    xs, ys = _positions(vs), _positions(hs)
    if len(hs) < 2 or len(vs) < 2 or len(xs) < 3 or len(ys) < 2:
        return None  # a box around one paragraph or a lone rule: not a table
    x0, x1 = min(s.lo for s in hs), max(s.hi for s in hs)
    y0, y1 = min(s.lo for s in vs), max(s.hi for s in vs)
    xs = _slivers_out(_positions([Seg(x, 0, 0) for x in [x0, *xs, x1]]))
    ys = _slivers_out(_positions([Seg(y, 0, 0) for y in [y0, *ys, y1]]))
    if len(xs) < 3 or len(ys) < 2:
        return None
    return Grid(xs, ys, _cells(xs, ys, hs, vs))


def _slivers_out(positions: list[float]) -> list[float]:
    """Double rules (two lines a few points apart) are one border: a sliver too thin to
    hold text would otherwise be an empty cell in every row, an extra blank value."""
    out = positions[:1]
    for pos in positions[1:]:
        if pos - out[-1] < SLIVER:
            if pos == positions[-1]:
                out[-1] = pos  # keep the outer edge
            continue
        out.append(pos)
    return out


def _covered(segs: list[Seg], lo: float, hi: float) -> bool:
    """Is the border drawn by `segs` (the rulings at its position) between `lo` and `hi`
    mostly drawn?"""
    drawn = sum(max(0.0, min(hi, s.hi) - max(lo, s.lo)) for s in segs)
    return drawn >= 0.5 * (hi - lo)


def _at(segs: list[Seg], positions: list[float]) -> dict[float, list[Seg]]:
    """The rulings at each grid position (within SNAP), in their order."""
    return {pos: [s for s in segs if abs(s.pos - pos) <= SNAP] for pos in positions}


def _cells(xs, ys, hs, vs) -> dict[tuple[int, int], Cell]:
    """Grid boxes joined into cells wherever no ruling separates two neighbours."""
    rows, cols = len(ys) - 1, len(xs) - 1
    parent = {(i, j): (i, j) for i in range(rows) for j in range(cols)}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    at_x, at_y = _at(vs, xs), _at(hs, ys)
    for i in range(rows):
        for j in range(cols):
            if j + 1 < cols and not _covered(at_x[xs[j + 1]], ys[i], ys[i + 1]):
                parent[find((i, j + 1))] = find((i, j))
            if i + 1 < rows and not _covered(at_y[ys[i + 1]], xs[j], xs[j + 1]):
                parent[find((i + 1, j))] = find((i, j))
    cells: dict = {}
    for box in parent:
        cells.setdefault(find(box), Cell([])).boxes.append(box)
    return {box: cell for cell in cells.values() for box in cell.boxes}
