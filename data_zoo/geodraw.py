"""synthgeo problem templates: each samples parameters, then (only if the item is kept) draws a diagram.

Every number a question needs is only in the picture (a labelled side, an angle, a count, a colour), so
the question text alone never determines the answer. A template returns a `Problem` whose `key` is every
sampled value (including layout), used to partition problems between splits before any drawing happens.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

COLOURS = {"red": (215, 40, 40), "blue": (40, 80, 220), "green": (30, 150, 60), "orange": (240, 140, 20),
           "purple": (140, 60, 180)}
INK = (0, 0, 0)
SHAPE_WORDS = {"circle": "circles", "square": "squares", "triangle": "triangles"}


@dataclass
class Problem:
    """A sampled problem: answer fields plus `draw(size) -> PIL image`, called only for kept items."""

    template: str
    key: tuple
    question: str
    answer: str
    answer_kind: str
    draw: Callable[[int], Image.Image]
    values: dict
    choices: list[str] | None = None
    gold_letter: str | None = None


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(9, size // 8))


def _canvas(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw, ImageFont.FreeTypeFont, int]:
    img = Image.new("RGB", (size, size), "white")
    return img, ImageDraw.Draw(img), _font(size), max(1, size // 56)


def _fit(points: list[tuple[float, float]], size: int, margin: float = 0.2) -> list[tuple[float, float]]:
    """Scale and centre math-coordinate points (y up) into the canvas (y down), keeping the aspect ratio."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    w, h = max(xs) - min(xs) or 1.0, max(ys) - min(ys) or 1.0
    scale = size * (1 - 2 * margin) / max(w, h)
    ox = (size - w * scale) / 2 - min(xs) * scale
    oy = (size + h * scale) / 2 + min(ys) * scale
    return [(ox + x * scale, oy - y * scale) for x, y in points]


def _toward(p, q, dist: float) -> tuple[float, float]:
    """The point `dist` pixels from p in the direction of q."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    n = math.hypot(dx, dy) or 1.0
    return p[0] + dx / n * dist, p[1] + dy / n * dist


def _edge_label(d, font, a, b, inside, text: str, size: int) -> None:
    """Write `text` next to the midpoint of edge ab, on the side away from the point `inside`."""
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    away = _toward((mx, my), inside, -size * 0.08)
    d.text(away, text, font=font, anchor="mm", fill=INK)


def _polygon_problem(rng: random.Random, sides: range, jitter: float) -> Problem:
    n, rot, fill = rng.choice(sides), rng.randrange(0, 360, 15), rng.choice(list(COLOURS))
    radii = tuple(round(1 - rng.random() * jitter, 2) for _ in range(n))

    def draw(size):
        img, d, _, lw = _canvas(size)
        pts = [(r * math.cos(math.radians(rot + 360 * k / n)), r * math.sin(math.radians(rot + 360 * k / n)))
               for k, r in enumerate(radii)]
        d.polygon(_fit(pts, size, 0.15), fill=COLOURS[fill], outline=INK, width=lw)
        return img

    # A regular polygon turned by 360/n looks the same, so the key uses the rotation modulo that.
    key_rot = rot % (360 / n) if jitter == 0 else rot
    return Problem("sides", (n, key_rot, fill, radii), "How many sides does the shape have?", str(n), "integer",
                   draw, {"sides": n})


def colour(rng):
    """Level 0 (perception): the fill colour of one large shape, a question a linear probe can answer."""
    base = _polygon_problem(rng, range(3, 7), 0.0)
    name = base.key[2]
    choices = list(COLOURS)
    return Problem("colour", base.key, "What colour is the shape?", name, "choice", base.draw, {"colour": name},
                   choices=choices, gold_letter="ABCDE"[choices.index(name)])


SHAPE_NAMES = {3: "triangle", 4: "square", 5: "pentagon", 6: "hexagon"}


def shape_name(rng):
    """Level 0 (perception): which regular polygon is drawn."""
    base = _polygon_problem(rng, range(3, 7), 0.0)
    name = SHAPE_NAMES[base.values["sides"]]
    choices = list(SHAPE_NAMES.values())
    return Problem("shape", base.key, "What shape is this?", name, "choice", base.draw, {"shape": name},
                   choices=choices, gold_letter="ABCD"[choices.index(name)])


def sides_easy(rng):
    return _polygon_problem(rng, range(3, 7), 0.0)


def sides_hard(rng):
    return _polygon_problem(rng, range(3, 9), 0.3)


def _place(rng: random.Random, n: int) -> list[tuple[float, float, float]]:
    """n non-overlapping discs (cx, cy, r) in the unit square, each r in [0.07, 0.11]."""
    discs: list[tuple[float, float, float]] = []
    while len(discs) < n:
        r = round(rng.uniform(0.07, 0.11), 3)
        c = (round(rng.uniform(r + 0.03, 0.97 - r), 3), round(rng.uniform(r + 0.03, 0.97 - r), 3))
        if all(math.hypot(c[0] - x, c[1] - y) > r + q + 0.03 for x, y, q in discs):
            discs.append((c[0], c[1], r))
    return discs


def _shape(d, kind: str, cx: float, cy: float, r: float, colour, lw: int) -> None:
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline=INK, width=lw)
    elif kind == "square":
        d.rectangle([cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85], fill=colour, outline=INK, width=lw)
    else:
        d.polygon([(cx, cy - r), (cx - r * 0.95, cy + r * 0.7), (cx + r * 0.95, cy + r * 0.7)],
                  fill=colour, outline=INK, width=lw)


def _count_problem(rng: random.Random, kinds: list[str], total: range) -> Problem:
    n = rng.choice(total)
    shapes = [rng.choice(kinds) for _ in range(n)]
    target = rng.choice(shapes)
    discs = _place(rng, n)
    colours = [rng.choice(list(COLOURS)) for _ in range(n)]
    count = shapes.count(target)

    def draw(size):
        img, d, _, lw = _canvas(size)
        for kind, (x, y, r), c in zip(shapes, discs, colours):
            _shape(d, kind, x * size, y * size, r * size, COLOURS[c], lw)
        return img

    return Problem("count" if len(kinds) == 1 else "count_mixed", (tuple(shapes), target, tuple(discs),
                   tuple(colours)), f"How many {SHAPE_WORDS[target]} are there?", str(count), "integer", draw,
                   {"count": count, "shape": target})


def count_circles(rng):
    return _count_problem(rng, ["circle"], range(1, 6))


def count_mixed(rng):
    return _count_problem(rng, list(SHAPE_WORDS), range(3, 8))


def square_perimeter(rng):
    s, flip = rng.randint(2, 12), rng.random() < 0.5

    def draw(size):
        img, d, font, lw = _canvas(size)
        a, b = size * 0.25, size * 0.75
        d.rectangle([a, a, b, b], outline=INK, width=lw)
        _edge_label(d, font, (a, a if flip else b), (b, a if flip else b), (size / 2, size / 2), str(s), size)
        return img

    return Problem("square_perimeter", (s, flip), "What is the perimeter of the square?", str(4 * s), "integer",
                   draw, {"side": s})


def diameter(rng):
    r, ang = rng.randint(1, 15), rng.randrange(0, 360, 30)

    def draw(size):
        img, d, font, lw = _canvas(size)
        c, rad = size / 2, size * 0.33
        d.ellipse([c - rad, c - rad, c + rad, c + rad], outline=INK, width=lw)
        end = (c + rad * math.cos(math.radians(ang)), c - rad * math.sin(math.radians(ang)))
        d.line([(c, c), end], fill=INK, width=lw)
        d.ellipse([c - 2, c - 2, c + 2, c + 2], fill=INK)
        mid = ((c + end[0]) / 2, (c + end[1]) / 2)
        perp = math.radians(ang + 90)
        d.text((mid[0] + size * 0.07 * math.cos(perp), mid[1] - size * 0.07 * math.sin(perp)), str(r),
               font=font, anchor="mm", fill=INK)
        return img

    return Problem("diameter", (r, ang), "What is the diameter of the circle?", str(2 * r), "integer", draw,
                   {"radius": r})


def _angle_labels(d, font, pts, labels, size) -> None:
    """Write labels[i] inside the triangle near vertex i (None = no label)."""
    cx, cy = sum(p[0] for p in pts) / 3, sum(p[1] for p in pts) / 3
    for p, text in zip(pts, labels):
        if text is not None:
            d.text(_toward(p, (cx, cy), size * 0.15), text, font=font, anchor="mm", fill=INK)


def triangle_angle(rng):
    while True:
        a, b = rng.randrange(30, 101, 5), rng.randrange(30, 101, 5)
        if a + b <= 150:
            break
    mirror = rng.random() < 0.5

    def draw(size):
        img, d, font, lw = _canvas(size)
        t = math.sin(math.radians(b)) / math.sin(math.radians(a + b))
        apex = (t * math.cos(math.radians(a)), t * math.sin(math.radians(a)))
        pts = [(0.0, 0.0), (1.0, 0.0), apex]
        if mirror:
            pts = [(-x, y) for x, y in pts]
        pts = _fit(pts, size)
        d.polygon(pts, outline=INK, width=lw)
        _angle_labels(d, font, pts, [f"{a}°", f"{b}°", "x°"], size)
        return img

    return Problem("triangle_angle", (a, b, mirror), "What is the value of x?", str(180 - a - b), "integer", draw,
                   {"angles": [a, b]})


def rect_area(rng):
    w, h = rng.randint(2, 12), rng.randint(2, 12)

    def draw(size):
        img, d, font, lw = _canvas(size)
        ratio = min(max(w / h, 0.5), 2.0)
        pts = _fit([(0, 0), (ratio, 0), (ratio, 1), (0, 1)], size, 0.22)
        d.polygon(pts, outline=INK, width=lw)
        centre = (size / 2, size / 2)
        _edge_label(d, font, pts[0], pts[1], centre, str(w), size)
        _edge_label(d, font, pts[1], pts[2], centre, str(h), size)
        return img

    return Problem("rect_area", (w, h), "What is the area of the rectangle?", str(w * h), "integer", draw,
                   {"width": w, "height": h})


def largest(rng):
    names = rng.sample(list(COLOURS), 4)
    radii = rng.sample([0.06, 0.08, 0.1, 0.12, 0.14], 4)
    slots = rng.sample([(0.27, 0.27), (0.73, 0.27), (0.27, 0.73), (0.73, 0.73)], 4)
    gold = names[radii.index(max(radii))]
    choices = sorted(names, key=lambda c: list(COLOURS).index(c))

    def draw(size):
        img, d, _, lw = _canvas(size)
        for c, r, (x, y) in zip(names, radii, slots):
            _shape(d, "circle", x * size, y * size, r * size, COLOURS[c], lw)
        return img

    letter = "ABCD"[choices.index(gold)]
    return Problem("largest", (tuple(names), tuple(radii), tuple(slots)), "Which colour is the largest circle?",
                   gold, "choice", draw, {"colour": gold}, choices=choices, gold_letter=letter)


def supplementary(rng):
    a, flip = rng.randrange(20, 161, 5), rng.random() < 0.5

    def draw(size):
        img, d, font, lw = _canvas(size)
        o = (size / 2, size * 0.68)
        d.line([(size * 0.06, o[1]), (size * 0.94, o[1])], fill=INK, width=lw)
        ray = math.radians(a if not flip else 180 - a)
        d.line([o, (o[0] + size * 0.42 * math.cos(ray), o[1] - size * 0.42 * math.sin(ray))], fill=INK, width=lw)
        right, left = (f"{a}°", "x°") if not flip else ("x°", f"{a}°")
        mid_r, mid_l = ray / 2, (ray + math.pi) / 2
        for text, ang in ((right, mid_r), (left, mid_l)):
            d.text((o[0] + size * 0.2 * math.cos(ang), o[1] - size * 0.2 * math.sin(ang)), text, font=font,
                   anchor="mm", fill=INK)
        return img

    return Problem("supplementary", (a, flip), "What is the value of x?", str(180 - a), "integer", draw,
                   {"angle": a})


TRIPLES = ((3, 4, 5), (6, 8, 10), (5, 12, 13), (8, 15, 17), (9, 12, 15), (12, 16, 20), (7, 24, 25), (20, 21, 29))


def hypotenuse(rng):
    p, q, c = rng.choice(TRIPLES)
    if rng.random() < 0.5:
        p, q = q, p

    def draw(size):
        img, d, font, lw = _canvas(size)
        pts = _fit([(0, 0), (p, 0), (0, q)], size, 0.2)
        d.polygon(pts, outline=INK, width=lw)
        m = size * 0.06
        o = pts[0]
        d.line([(o[0] + m, o[1]), (o[0] + m, o[1] - m), (o[0], o[1] - m)], fill=INK, width=lw)
        cen = (sum(x for x, _ in pts) / 3, sum(y for _, y in pts) / 3)
        _edge_label(d, font, pts[0], pts[1], cen, str(p), size)
        _edge_label(d, font, pts[0], pts[2], cen, str(q), size)
        return img

    return Problem("hypotenuse", (p, q), "What is the length of the hypotenuse?", str(c), "integer", draw,
                   {"legs": [p, q]})


def isosceles(rng):
    apex, left = rng.randrange(20, 141, 10), rng.random() < 0.5

    def draw(size):
        img, d, font, lw = _canvas(size)
        h = math.radians(apex / 2)
        pts = _fit([(-math.sin(h), 0.0), (math.sin(h), 0.0), (0.0, math.cos(h))], size)
        d.polygon(pts, outline=INK, width=lw)
        for p in (pts[0], pts[1]):  # tick marks say "these two sides are equal"
            mx, my = (p[0] + pts[2][0]) / 2, (p[1] + pts[2][1]) / 2
            dx, dy = pts[2][0] - p[0], pts[2][1] - p[1]
            n = math.hypot(dx, dy)
            tx, ty = -dy / n * size * 0.04, dx / n * size * 0.04
            d.line([(mx - tx, my - ty), (mx + tx, my + ty)], fill=INK, width=lw)
        _angle_labels(d, font, pts, ["x°" if left else None, None if left else "x°", f"{apex}°"], size)
        return img

    return Problem("isosceles", (apex, left), "What is the value of x?", str((180 - apex) // 2), "integer", draw,
                   {"apex": apex})


def fraction(rng):
    n = rng.choice((2, 3, 4, 5, 6, 8))
    k, start = rng.randint(1, n - 1), rng.randrange(0, 360, 45)
    colour = rng.choice(list(COLOURS))

    def draw(size):
        img, d, _, lw = _canvas(size)
        box = [size * 0.15, size * 0.15, size * 0.85, size * 0.85]
        for i in range(n):
            a0, a1 = start + 360 * i / n, start + 360 * (i + 1) / n
            d.pieslice(box, a0, a1, fill=COLOURS[colour] if i < k else "white", outline=INK, width=lw)
        return img

    frac = Fraction(k, n)
    return Problem("fraction", (n, k, start, colour), "What fraction of the circle is shaded?",
                   f"{frac.numerator}/{frac.denominator}", "expression", draw, {"parts": n, "shaded": k})


def _colour_sequence(rng: random.Random, k: int) -> list[str]:
    """k colour names, neighbours distinct (so every boundary is visible)."""
    names = [rng.choice(list(COLOURS))]
    while len(names) < k:
        c = rng.choice(list(COLOURS))
        if c != names[-1]:
            names.append(c)
    return names


def _stripes_problem(rng: random.Random, k: int) -> Problem:
    """k vertical colour bands with jittered boundaries; the answer lists their colours left to right."""
    names = _colour_sequence(rng, k)
    # Boundaries on a 1/20 grid: two different keys never draw the same picture (held-out by pixels too).
    cuts = tuple(round((i / k + rng.uniform(-0.4, 0.4) / k) * 20) / 20 for i in range(1, k))

    def draw(size):
        img, d, _, lw = _canvas(size)
        lo, hi = size * 0.1, size * 0.9
        edges = [lo] + [lo + c * (hi - lo) for c in cuts] + [hi]
        for name, x0, x1 in zip(names, edges, edges[1:]):
            d.rectangle([x0, size * 0.2, x1, size * 0.8], fill=COLOURS[name], outline=INK, width=lw)
        return img

    return Problem(f"stripes{k}", (tuple(names), cuts), "List the colours of the stripes from left to right.",
                   ", ".join(names), "list", draw, {"colours": names})


def stripes2(rng):
    """Level 4 (compositional): 2 bands, 20 colour sequences; a sample is right only if every colour is."""
    return _stripes_problem(rng, 2)


def stripes3(rng):
    return _stripes_problem(rng, 3)


def stripes4(rng):
    return _stripes_problem(rng, 4)


TEMPLATES: dict[int, tuple[Callable[[random.Random], Problem], ...]] = {
    0: (colour, shape_name),
    1: (sides_easy, count_circles, square_perimeter, diameter),
    2: (triangle_angle, rect_area, largest, supplementary),
    3: (hypotenuse, isosceles, fraction, count_mixed, sides_hard),
    4: (stripes2, stripes3, stripes4),
}
