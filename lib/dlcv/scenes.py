"""Road scenes made by geometry: a pinhole camera above a road plane, with exact labels.

No road data set ships offline, so chapter 11 measures its lane finders, object detectors
and traffic-light readers on frames this module renders. Perspective comes from the camera
model, not from drawing: every pixel below the horizon is traced to the point of the road
plane it sees, and that point's lateral position and distance decide whether it shows
asphalt (scikit-image's ``gravel`` texture), verge (``grass``), a lane marking, a shadow.
Cars, pedestrians and traffic lights stand in 3-D on the road and are projected; their
2-D boxes are the exact bounds of the pixels drawn for them, and the lane boundaries are
known at every image row.

World coordinates are metres: ``X`` to the right, ``Y`` up, ``Z`` forward along the road,
the camera at ``(0, height, 0)`` pitched down by ``pitch`` degrees. Pixel ``(row i,
column j)`` covers ``j <= u < j + 1``, ``i <= v < i + 1``, as boxes do in
:mod:`dlcv.detect`.

What the scenes leave out is as important as what they hold: no other road users' motion,
no real sensor, no variety of cities, cars are flat boards seen from behind. Numbers
measured on them say how methods compare on the same controlled difficulty, not how they
do on real roads (KITTI, Cityscapes and BDD100K are where that is measured).

>>> frame = random_scene(0, condition="clean")
>>> frame.image.shape, frame.image.dtype
((96, 128, 3), dtype('float32'))
>>> bool(np.all(frame.boxes[:, 2] > frame.boxes[:, 0]))
True
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

from dlcv.data import sample_image
from dlcv.validate import check_choice, check_int, generator

__all__ = [
    "CAMERA",
    "CLASSES",
    "CONDITIONS",
    "LANE_DISTANCES",
    "LIGHTING",
    "LIGHT_STATES",
    "SPLITS",
    "WEATHER",
    "Camera",
    "Frame",
    "RoadObject",
    "Road",
    "light_crops",
    "random_scene",
    "render",
    "scene_batch",
]

CLASSES = ("car", "pedestrian", "traffic light")
"""Object classes, in the order of :attr:`Frame.classes`."""
LIGHT_STATES = ("red", "amber", "green", "off")
"""A traffic light's state, in the order of :attr:`Frame.states` (-1 for other objects)."""
LIGHTING = ("day", "dusk", "glare")
WEATHER = ("clear", "fog", "rain")
SPLITS = ("train", "validation", "test")
"""Each split draws its scenes from its own random stream: seed 5 of "train" and seed 5
of "test" are different scenes, so a method trained on training seeds is never scored on
them."""
CONDITIONS = ("clean", "shadows", "worn", "curves", "glare", "dusk", "fog", "rain")
"""Named conditions of :func:`random_scene`: "clean" is a straight, new, dry road by day;
each other one changes one thing from it."""
LANE_DISTANCES = (5.0, 10.0, 15.0, 20.0, 30.0)
"""Distances ahead (m) at which chapter 11 scores lane positions."""

_LIT = {  # radiance of a lit lamp (emissive: not dimmed by the light of the scene)
    "red": (1.0, 0.12, 0.08),
    "amber": (1.0, 0.62, 0.05),
    "green": (0.1, 1.0, 0.6),
}
_CAR_COLOURS = np.array(
    [(0.75, 0.1, 0.1), (0.1, 0.2, 0.6), (0.85, 0.85, 0.85), (0.15, 0.15, 0.17),
     (0.5, 0.52, 0.55), (0.9, 0.75, 0.2), (0.2, 0.45, 0.25), (0.55, 0.3, 0.15)]
)  # fmt: skip
_SIZES = {0: (1.8, 1.5), 1: (0.55, 1.75), 2: (0.5, 1.3)}  # width, height (m) by class


# --- the camera -----------------------------------------------------------------------------


def _positive(value, name: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera ``height`` metres above a flat road, pitched down by ``pitch``
    degrees, with focal length ``focal`` (pixels) and image ``size`` (rows, columns).

    The principal point is the image centre. A road point at distance ``Z`` ahead and
    ``X`` to the side appears at ``u = cx + focal * X / z_c``, ``v = cy + focal * y_c /
    z_c``, where ``(y_c, z_c)`` is the point in the camera's frame (:meth:`project`).
    """

    height: float = 1.3
    pitch: float = 4.0
    focal: float = 110.0
    size: tuple[int, int] = (96, 128)

    def __post_init__(self):
        _positive(self.height, "height")
        _positive(self.focal, "focal")
        if not isinstance(self.pitch, numbers.Real) or not 0 < self.pitch < 45:
            raise ValueError(f"pitch must be between 0 and 45 degrees, got {self.pitch!r}")
        rows, cols = self.size
        check_int(rows, "size[0]", 16)
        check_int(cols, "size[1]", 16)
        if self.horizon < 1 or self.horizon > rows - 8:
            raise ValueError(
                f"this camera puts the horizon at row {self.horizon:.1f} of {rows}: "
                "choose a pitch and focal length that show the road"
            )

    @property
    def centre(self) -> tuple[float, float]:
        """The principal point ``(cx, cy)``."""
        return self.size[1] / 2, self.size[0] / 2

    @property
    def horizon(self) -> float:
        """The image row (continuous ``v``) of the horizon: ``cy - focal * tan(pitch)``."""
        return self.size[0] / 2 - self.focal * math.tan(math.radians(self.pitch))

    def project(self, points) -> np.ndarray:
        """Pixel coordinates ``(u, v)`` of world points ``(X, Y, Z)``, shape ``(N, 2)``.

        Raises ``ValueError`` for points behind the camera."""
        p = np.asarray(points, dtype=float)
        if p.ndim != 2 or p.shape[1] != 3:
            raise ValueError(f"points must have shape (N, 3), got {p.shape}")
        s, c = math.sin(math.radians(self.pitch)), math.cos(math.radians(self.pitch))
        up = p[:, 1] - self.height
        z_cam = -up * s + p[:, 2] * c
        y_cam = -up * c - p[:, 2] * s
        if np.any(z_cam <= 1e-9):
            raise ValueError("points must lie in front of the camera (depth > 0)")
        cx, cy = self.centre
        return np.column_stack([cx + self.focal * p[:, 0] / z_cam, cy + self.focal * y_cam / z_cam])

    def _ray_length(self, v) -> np.ndarray:
        """``t`` with road point = camera + t * ray of row ``v`` (NaN at and above the horizon)."""
        s, c = math.sin(math.radians(self.pitch)), math.cos(math.radians(self.pitch))
        b = (np.asarray(v, dtype=float) - self.centre[1]) / self.focal
        denom = b * c + s
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denom > 1e-12, self.height / denom, np.nan)

    def distance(self, v) -> np.ndarray:
        """Distance ahead ``Z`` (m) of the road seen at image row ``v`` (NaN above the horizon)."""
        s, c = math.sin(math.radians(self.pitch)), math.cos(math.radians(self.pitch))
        b = (np.asarray(v, dtype=float) - self.centre[1]) / self.focal
        return self._ray_length(v) * (c - b * s)

    def row(self, distance) -> np.ndarray:
        """Image row ``v`` at which the road ``distance`` metres ahead appears."""
        z = np.asarray(distance, dtype=float)
        if np.any(~(z > 0)):
            raise ValueError(f"distance must be > 0 m, got {distance!r}")
        s, c = math.sin(math.radians(self.pitch)), math.cos(math.radians(self.pitch))
        b = (self.height * c - z * s) / (z * c + self.height * s)
        return self.centre[1] + self.focal * b

    def ground(self, u, v) -> tuple[np.ndarray, np.ndarray]:
        """The road point ``(X, Z)`` seen at pixel ``(u, v)`` (NaN above the horizon)."""
        t = self._ray_length(v)
        return t * (np.asarray(u, dtype=float) - self.centre[0]) / self.focal, self.distance(v)

    def metres_per_pixel(self, v) -> np.ndarray:
        """Sideways metres on the road covered by one pixel at row ``v``."""
        return self._ray_length(v) / self.focal


CAMERA = Camera()
"""The course's camera: 1.3 m up, pitched 4° down, focal 110 px, 96 x 128 frames."""


# --- the road and its objects -----------------------------------------------------------------


@dataclass(frozen=True)
class Road:
    """A road of two lanes; the camera's car drives in the right one.

    The centre of the camera's lane lies at ``X = -offset + heading * Z + curvature * Z**2
    / 2`` (a circular arc to second order; curvature in 1/m, positive bends right). Its left
    boundary is the line between the two lanes (``left_marking``), its right one the road's
    edge (``right_marking``); the far left edge of the road is a solid line. ``wear`` in [0,
    1] is the share of the painted markings worn away.
    """

    curvature: float = 0.0
    offset: float = 0.0
    heading: float = 0.0
    lane_width: float = 3.6
    left_marking: str = "dashed"
    right_marking: str = "solid"
    wear: float = 0.0

    def __post_init__(self):
        for name in ("curvature", "offset", "heading"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise TypeError(f"{name} must be a finite real number, got {value!r}")
        if abs(self.curvature) > 0.02:
            raise ValueError(
                f"curvature must be within ±0.02 1/m (radius ≥ 50 m), got {self.curvature}"
            )
        _positive(self.lane_width, "lane_width")
        check_choice(self.left_marking, "left_marking", ("dashed", "solid", "none"))
        check_choice(self.right_marking, "right_marking", ("dashed", "solid", "none"))
        if not isinstance(self.wear, numbers.Real) or not 0 <= self.wear <= 1:
            raise ValueError(f"wear must be between 0 and 1, got {self.wear!r}")

    def centre(self, z) -> np.ndarray:
        """``X`` (m) of the centre of the camera's lane at distance ``z``."""
        z = np.asarray(z, dtype=float)
        return -self.offset + self.heading * z + 0.5 * self.curvature * z**2

    def boundaries(self, z) -> np.ndarray:
        """``X`` of the left and right boundaries of the camera's lane, shape ``(2, ...)``."""
        c = self.centre(z)
        return np.stack([c - self.lane_width / 2, c + self.lane_width / 2])


@dataclass(frozen=True)
class RoadObject:
    """An object standing on the road: ``kind`` indexes :data:`CLASSES`; ``lateral`` (m) is
    its centre's offset from the centre of the camera's lane at distance ``z`` (m);
    ``colour`` is its body's RGB; ``state`` indexes :data:`LIGHT_STATES` (lights only)."""

    kind: int
    lateral: float
    z: float
    colour: tuple = (0.5, 0.5, 0.5)
    state: int = -1

    def __post_init__(self):
        check_int(self.kind, "kind", 0)
        if self.kind >= len(CLASSES):
            raise ValueError(f"kind must index CLASSES {CLASSES}, got {self.kind}")
        if not isinstance(self.z, numbers.Real) or not 2 <= self.z <= 200:
            raise ValueError(f"z must be between 2 and 200 m, got {self.z!r}")
        if not isinstance(self.lateral, numbers.Real) or not math.isfinite(self.lateral):
            raise TypeError(f"lateral must be a finite real number (m), got {self.lateral!r}")
        try:
            rgb = np.asarray(self.colour, dtype=float)
        except (TypeError, ValueError):
            rgb = np.full(1, np.nan)
        if rgb.shape != (3,) or not np.all((rgb >= 0) & (rgb <= 1)):
            raise ValueError(f"colour must be 3 numbers (RGB) in [0, 1], got {self.colour!r}")
        if self.kind == 2 and self.state not in range(len(LIGHT_STATES)):
            raise ValueError(
                f"a traffic light needs a state indexing {LIGHT_STATES}, got {self.state!r}"
            )


@dataclass
class Frame:
    """A rendered frame and its labels.

    Attributes
    ----------
    image : ndarray (H, W, 3) float32 in [0, 1], 8-bit levels
    boxes : ndarray (K, 4)
        ``(x1, y1, x2, y2)`` of every visible object, the exact bounds of its pixels.
    classes, states : ndarray (K,) of int
        Indices into :data:`CLASSES` and :data:`LIGHT_STATES` (-1 for non-lights).
    distances : ndarray (K,)
        Each object's distance ahead (m).
    lanes : ndarray (2, H)
        Column ``u`` of the left and right boundary of the camera's lane at the centre of
        every image row; NaN where the row shows no road within 80 m or the line is out
        of the frame.
    road, camera, conditions : what made it (``conditions`` holds lighting, weather,
        shadows, noise, blur and seed, the keywords of :func:`render`; ``seed`` is the
        int render was given, or a copy of the Generator as render received it).
    mask : ndarray (H, W) of int
        Index of the object drawn at each pixel (-1: road, verge or sky).
    objects : tuple of RoadObject
        The objects drawn, one per box and in the order of :attr:`boxes`. With them,
        ``render(frame.road, frame.objects, camera=frame.camera, **frame.conditions)``
        draws the frame again, bit for bit (pass a copy of a Generator ``seed``: drawing
        advances it), and changing one keyword redraws the same scene under it.
    """

    image: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    states: np.ndarray
    distances: np.ndarray
    lanes: np.ndarray
    road: Road
    camera: Camera
    conditions: dict = field(default_factory=dict)
    mask: np.ndarray | None = None
    objects: tuple = ()

    def lane_points(self, distances=LANE_DISTANCES) -> np.ndarray:
        """Columns ``u`` of the left and right boundaries at ``distances`` ahead, ``(2, D)``.

        Computed from the road and camera (not read from :attr:`lanes`), so they are exact
        at any distance; NaN where the line is out of the frame."""
        z = np.asarray(distances, dtype=float)
        v = self.camera.row(z)
        u = self.camera.centre[0] + self.road.boundaries(z) / self.camera.metres_per_pixel(v)
        return np.where((u >= 0) & (u <= self.camera.size[1]), u, np.nan)


# --- textures ---------------------------------------------------------------------------------


@functools.cache
def _texture(name: str) -> tuple[np.ndarray, ...]:
    """A photo texture normalised to mean 0, std 1, with blurred copies (mip levels) for
    distant rows, where one pixel covers many texels."""
    t = sample_image(name, grey=True)
    t = (t - t.mean()) / t.std()
    levels = tuple(ndimage.gaussian_filter(t, s, mode="wrap") if s else t for s in (0, 1, 2, 4, 8))
    for level in levels:
        level.setflags(write=False)
    return levels


@functools.cache
def _uniform_noise(name: str = "brick") -> np.ndarray:
    """A smooth random field in [0, 1], uniformly distributed (rank-normalised): where the
    paint wears away."""
    t = ndimage.gaussian_filter(sample_image(name, grey=True), 6, mode="wrap")
    ranks = np.empty(t.size)
    ranks[np.argsort(t, axis=None)] = np.linspace(0, 1, t.size)
    out = ranks.reshape(t.shape)
    out.setflags(write=False)
    return out


def _sample(levels, x, z, per_metre, footprint, offset) -> np.ndarray:
    """Texture values at road points ``(x, z)`` (metres); ``footprint`` (texels per pixel)
    picks the mip level of each point."""
    size = levels[0].shape[0]
    rows = ((z * per_metre + offset[0]).astype(np.int64)) % size
    cols = ((x * per_metre + offset[1]).astype(np.int64)) % size
    level = np.clip(np.log2(np.maximum(footprint, 1.0)).round().astype(int), 0, len(levels) - 1)
    out = np.empty(x.shape)
    for k in np.unique(level):
        sel = level == k
        out[sel] = levels[k][rows[sel], cols[sel]]
    return out


def _coverage(distance, half_width, footprint) -> np.ndarray:
    """Share of a pixel of width ``footprint`` covered by a band of ``±half_width`` around
    0, for a pixel centred at ``distance`` from the band's axis (a box filter, exact)."""
    lo = np.maximum(distance - footprint / 2, -half_width)
    hi = np.minimum(distance + footprint / 2, half_width)
    return np.clip(hi - lo, 0.0, None) / footprint


def _dash_coverage(z, dz, period=12.0, dash=4.0, phase=0.0) -> np.ndarray:
    """Share of ``[z - dz/2, z + dz/2]`` that is painted in a dash pattern."""

    def painted(s):
        s = s + phase
        return np.floor(s / period) * dash + np.minimum(np.mod(s, period), dash)

    return (painted(z + dz / 2) - painted(z - dz / 2)) / dz


# --- rendering --------------------------------------------------------------------------------


def _rect(canvas, alpha, colour, box, mask=None, index=-1, ellipse=False):
    """Paint ``box`` (x1, y1, x2, y2, continuous) with exact area coverage."""
    h, w = alpha.shape
    x1, y1, x2, y2 = box
    c0, c1 = max(int(np.floor(x1)), 0), min(int(np.ceil(x2)), w)
    r0, r1 = max(int(np.floor(y1)), 0), min(int(np.ceil(y2)), h)
    if c0 >= c1 or r0 >= r1:
        return
    cols = np.arange(c0, c1)
    rows = np.arange(r0, r1)
    cov_x = np.clip(np.minimum(x2, cols + 1) - np.maximum(x1, cols), 0, 1)
    cov_y = np.clip(np.minimum(y2, rows + 1) - np.maximum(y1, rows), 0, 1)
    cov = np.outer(cov_y, cov_x)
    if ellipse:
        cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
        d = ((cols + 0.5 - cx) / rx)[None, :] ** 2 + ((rows + 0.5 - cy) / ry)[:, None] ** 2
        cov = cov * np.clip((1 - np.sqrt(d)) * min(rx, ry) + 0.5, 0, 1)
    window = canvas[r0:r1, c0:c1]
    window[:] = cov[..., None] * np.asarray(colour) + (1 - cov[..., None]) * window
    alpha[r0:r1, c0:c1] = np.maximum(alpha[r0:r1, c0:c1], cov)
    if mask is not None:
        mask[r0:r1, c0:c1][cov > 0] = index


def _parts(kind: int) -> list:
    """The sprite of an object: (x1, y1, x2, y2) as fractions of its box, role, ellipse."""
    if kind == 0:  # a car from behind: body, cabin, window, lights, plate, wheels
        return [
            ((0.0, 0.35, 1.0, 0.85), "body", False),
            ((0.1, 0.0, 0.9, 0.4), "cabin", False),
            ((0.18, 0.08, 0.82, 0.34), "window", False),
            ((0.03, 0.44, 0.2, 0.56), "tail", False),
            ((0.8, 0.44, 0.97, 0.56), "tail", False),
            ((0.38, 0.58, 0.62, 0.7), "plate", False),
            ((0.05, 0.8, 0.27, 1.0), "tyre", False),
            ((0.73, 0.8, 0.95, 1.0), "tyre", False),
        ]
    if kind == 1:  # a pedestrian: head, torso and arms, legs
        return [
            ((0.28, 0.0, 0.72, 0.15), "skin", True),
            ((0.0, 0.14, 1.0, 0.55), "body", False),
            ((0.12, 0.54, 0.46, 1.0), "legs", False),
            ((0.54, 0.54, 0.88, 1.0), "legs", False),
        ]
    return [  # a traffic light's housing and its three lamps
        ((0.0, 0.0, 1.0, 1.0), "housing", False),
        ((0.14, 0.05, 0.86, 0.3), "red", True),
        ((0.14, 0.37, 0.86, 0.63), "amber", True),
        ((0.14, 0.7, 0.86, 0.95), "green", True),
    ]


def _object_box(obj: RoadObject, road: Road, camera: Camera) -> np.ndarray:
    """The 2-D bounds of the object's board (its 4 corners projected)."""
    width, height = _SIZES[obj.kind]
    x = float(road.centre(obj.z)) + obj.lateral
    bottom = 2.1 if obj.kind == 2 else 0.0  # a light's housing hangs on its pole
    corners = [
        (x + dx, y, obj.z) for dx in (-width / 2, width / 2) for y in (bottom, bottom + height)
    ]
    uv = camera.project(corners)
    return np.array([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])


def render(
    road: Road = Road(),
    objects=(),
    *,
    camera: Camera = CAMERA,
    lighting: str = "day",
    weather: str = "clear",
    shadows: int = 0,
    noise: float | None = None,
    blur: float = 0.0,
    seed=0,
) -> Frame:
    """Render one frame.

    Parameters
    ----------
    road : Road
    objects : sequence of RoadObject
        Drawn from far to near; an object whose box falls outside the frame or is under 3
        pixels tall is left out of the frame and of its labels.
    camera : Camera
    lighting : "day", "dusk" or "glare"
        Dusk dims the scene to 30 % and the camera's exposure doubles (noise and lit lamps
        with it: lamps and tail lights saturate); glare is a low sun ahead, a veil over the
        image and its reflection on the road.
    weather : "clear", "fog" or "rain"
        Fog mixes in grey with distance (visibility 35 m); rain darkens, blurs and streaks.
    shadows : int
        Number of tree shadows on the road (0-12); with several, one is a band across it.
    noise : float, optional
        Sensor noise (std, before exposure); 0.01 by default.
    blur : float
        Gaussian blur (pixels) of the optics.
    seed : int or numpy Generator
        Places the shadows, the textures' offsets, the rain and the noise.
    """
    if not isinstance(road, Road):
        raise TypeError(f"road must be a dlcv.scenes.Road, got {type(road).__name__}")
    if not isinstance(camera, Camera):
        raise TypeError(f"camera must be a dlcv.scenes.Camera, got {type(camera).__name__}")
    objects = list(objects)
    for i, obj in enumerate(objects):
        if not isinstance(obj, RoadObject):
            raise TypeError(
                f"objects[{i}] must be a dlcv.scenes.RoadObject, got {type(obj).__name__}"
            )
    check_choice(lighting, "lighting", LIGHTING)
    check_choice(weather, "weather", WEATHER)
    shadows = check_int(shadows, "shadows", 0)
    if shadows > 12:
        raise ValueError(f"shadows must be at most 12, got {shadows}")
    noise = 0.01 if noise is None else noise
    if not isinstance(noise, numbers.Real) or not 0 <= noise <= 0.5:
        raise ValueError(f"noise must be between 0 and 0.5, got {noise!r}")
    if not isinstance(blur, numbers.Real) or not 0 <= blur <= 10:
        raise ValueError(f"blur must be between 0 and 10 pixels, got {blur!r}")
    rng = generator(seed, "seed")
    start = int(seed) if isinstance(seed, numbers.Integral) else copy.deepcopy(rng)

    h, w = camera.size
    cx, cy = camera.centre
    v = np.arange(h) + 0.5
    u = np.arange(w) + 0.5
    z_row = camera.distance(v)
    ground = np.isfinite(z_row) & (z_row > 0) & (z_row < 400)
    illum = {"day": 1.0, "dusk": 0.3, "glare": 1.0}[lighting] * (0.7 if weather == "rain" else 1.0)
    exposure = {"day": 1.0, "dusk": 2.2, "glare": 0.8}[lighting]

    image = np.empty((h, w, 3))
    depth = np.full((h, w), np.inf)
    # sky and a distant treeline above the horizon
    top = np.clip(v / max(camera.horizon, 1.0), 0, 1)[:, None]
    sky_hi, sky_lo = {
        "day": ((0.45, 0.62, 0.9), (0.8, 0.85, 0.9)),
        "dusk": ((0.12, 0.12, 0.25), (0.55, 0.35, 0.3)),
        "glare": ((0.6, 0.7, 0.85), (0.95, 0.93, 0.85)),
    }[lighting]
    image[:] = ((1 - top) * np.array(sky_hi) + top * np.array(sky_lo))[:, None, :] / exposure
    tree_top = (
        camera.horizon - 1.5 - 4.5 * ndimage.gaussian_filter1d(rng.random(w), 3, mode="wrap") * 2
    )
    trees = (v[:, None] >= tree_top[None, :]) & ~ground[:, None]
    grass = _texture("grass")
    leaf = grass[1][(v[:, None] * 7).astype(int) % 512, (u[None, :] * 5).astype(int) % 512]
    tree_colour = np.array((0.12, 0.22, 0.1)) * illum
    image[trees] = (tree_colour * (1 + 0.25 * leaf[..., None]))[trees]
    depth[trees] = 150.0

    # the road plane
    rows = np.flatnonzero(ground)
    zz = np.repeat(z_row[rows], w).reshape(len(rows), w)
    t = camera._ray_length(v[rows])[:, None]
    xx = t * (u[None, :] - cx) / camera.focal
    fp_x = np.broadcast_to(t / camera.focal, xx.shape)  # metres per pixel across
    dz = np.abs(camera.distance(v[rows] - 0.5) - camera.distance(np.minimum(v[rows] + 0.5, h)))
    dz = np.where(np.isfinite(dz), dz, 50.0)[:, None] * np.ones((1, w))  # metres per pixel along
    lateral = xx - road.centre(zz)
    lw = road.lane_width
    offset = rng.integers(0, 512, size=2)
    asphalt = _sample(_texture("gravel"), xx, zz, 120, np.sqrt(fp_x * dz) * 120, offset)
    verge = _sample(grass, xx, zz, 40, np.sqrt(fp_x * dz) * 40, offset[::-1])
    left_edge, right_edge = -1.5 * lw - 0.3, lw / 2 + 0.6
    on_road = _coverage(lateral - (left_edge + right_edge) / 2, (right_edge - left_edge) / 2, fp_x)
    tone_road = 0.36 + 0.05 * asphalt
    tone_verge = np.array((0.3, 0.42, 0.18)) * (1 + 0.35 * verge[..., None])
    colour = on_road[..., None] * tone_road[..., None] + (1 - on_road[..., None]) * tone_verge
    # lane markings, 15 cm wide, worn where the noise field is below the wear
    wear_field = _uniform_noise()[
        ((zz * 8 + offset[0]) % 512).astype(int), ((xx * 40) % 512).astype(int)
    ]
    paint = np.clip((wear_field - road.wear) / 0.08 + 0.5, 0, 1) if road.wear > 0 else 1.0
    phase = rng.uniform(0, 12)
    for where, style in (
        (-1.5 * lw, "solid"),
        (-lw / 2, road.left_marking),
        (lw / 2, road.right_marking),
    ):
        if style == "none":
            continue
        cov = _coverage(lateral - where, 0.075, fp_x)
        if style == "dashed":
            cov = cov * _dash_coverage(zz, dz, phase=phase)
        cov = cov * paint
        colour = cov[..., None] * 0.85 + (1 - cov[..., None]) * colour
    # tree shadows (blobs beside and over the road) and one band across it when many
    shade = np.zeros(xx.shape)
    for k in range(shadows):
        if k == 0 and shadows >= 3:  # a building's or a bridge's shadow across the road
            z0, length = rng.uniform(4, 14), rng.uniform(3, 8)
            band = np.minimum(zz - z0, z0 + length - zz) / np.maximum(dz, 0.2)
            shade = np.maximum(shade, np.clip(band + 0.5, 0, 1))
            continue
        x0, z0 = rng.uniform(left_edge, right_edge + 1.0), rng.uniform(4, 30)
        for _ in range(rng.integers(3, 6)):  # a tree's crown: a few overlapping discs
            bx, bz = x0 + rng.uniform(-1.5, 1.5), z0 + rng.uniform(-2, 2)
            d = np.hypot(lateral - bx, (zz - bz) * 0.8)
            shade = np.maximum(shade, np.clip((rng.uniform(0.8, 2.2) - d) / 0.3, 0, 1))
    colour = colour * (1 - 0.6 * shade[..., None])
    image[rows] = colour * illum
    depth[rows] = zz

    # objects, far to near
    canvas_alpha = np.zeros((h, w))
    mask = np.full((h, w), -1)
    boxes, kept = [], []
    order = sorted(range(len(objects)), key=lambda i: -objects[i].z)
    for i in order:
        obj = objects[i]
        box = _object_box(obj, road, camera)
        clipped = np.array([max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)])
        if clipped[2] - clipped[0] < 1 or clipped[3] - clipped[1] < 3:
            continue
        x1, y1, x2, y2 = box
        bw, bh = x2 - x1, y2 - y1
        if obj.kind == 2:  # the pole, under the housing (scenery, not part of the label)
            pole = camera.project([(float(road.centre(obj.z)) + obj.lateral, 0.0, obj.z)])[0]
            _rect(image, np.zeros((h, w)), np.array((0.2, 0.2, 0.2)) * illum,
                  ((x1 + x2) / 2 - bw * 0.1, y2, (x1 + x2) / 2 + bw * 0.1, pole[1]))  # fmt: skip
        else:  # a contact shadow on the road beneath
            _rect(
                image,
                np.zeros((h, w)),
                np.array((0.1, 0.1, 0.1)) * illum,
                (x1, y2 - 0.05 * bh, x2, y2 + 0.06 * bh),
            )
        index = len(kept)
        for (fx1, fy1, fx2, fy2), role, ellipse in _parts(obj.kind):
            part = (x1 + fx1 * bw, y1 + fy1 * bh, x1 + fx2 * bw, y1 + fy2 * bh)
            col = _part_colour(role, obj, illum, lighting)
            _rect(image, canvas_alpha, col, part, mask, index, ellipse)
        drawn_rows, drawn_cols = np.nonzero(mask == index)
        depth[drawn_rows, drawn_cols] = obj.z
        # the board's bounds clipped to the frame, tightened to the pixels drawn where the
        # frame's edge cuts the sprite (a car cut at its side shows no cabin or wheels there)
        drawn = (drawn_cols.min(), drawn_rows.min(), drawn_cols.max() + 1, drawn_rows.max() + 1)
        boxes.append(
            np.concatenate([np.maximum(clipped[:2], drawn[:2]), np.minimum(clipped[2:], drawn[2:])])
        )
        kept.append(obj)

    # atmosphere, glare, exposure, the sensor
    if weather == "fog":
        transmit = np.exp(-depth / 35.0)[..., None]
        image = image * transmit + 0.7 * illum * (1 - transmit)
    if lighting == "glare":
        su, sv = rng.uniform(0.25, 0.75) * w, camera.horizon - rng.uniform(2, 8)
        r2 = (u[None, :] - su) ** 2 + (v[:, None] - sv) ** 2
        glow = 0.9 * np.exp(-r2 / (2 * 14.0**2)) + 0.25
        streak = 0.35 * np.exp(-((u[None, :] - su) ** 2) / (2 * 6.0**2)) * ground[:, None]
        image = image * 0.75 + (glow + streak)[..., None] * np.array((1.0, 0.95, 0.85))
    image = image * exposure
    if weather == "rain":
        drops = (rng.random((h, w)) < 0.01).astype(float)
        streaks = ndimage.convolve(drops, np.eye(5)[:, ::-1] / 2, mode="constant")
        image = ndimage.gaussian_filter(image, (0.8, 0.8, 0)) + 0.25 * streaks[..., None]
    if blur > 0:
        image = ndimage.gaussian_filter(image, (blur, blur, 0))
    image = image + rng.normal(0.0, noise, image.shape) * exposure
    image = (np.round(np.clip(image, 0, 1) * 255) / 255).astype(np.float32)

    lanes = _lane_rows(road, camera, z_row)
    n = len(kept)
    return Frame(
        image=image,
        boxes=np.array(boxes, dtype=float).reshape(n, 4),
        classes=np.array([o.kind for o in kept], dtype=np.int64),
        states=np.array([o.state if o.kind == 2 else -1 for o in kept], dtype=np.int64),
        distances=np.array([o.z for o in kept], dtype=float),
        lanes=lanes,
        road=road,
        camera=camera,
        conditions={
            "lighting": lighting,
            "weather": weather,
            "shadows": shadows,
            "noise": noise,
            "blur": blur,
            "seed": start,
        },  # fmt: skip
        mask=mask,
        objects=tuple(kept),
    )


def _part_colour(role: str, obj: RoadObject, illum: float, lighting: str) -> np.ndarray:
    body = np.asarray(obj.colour, dtype=float)
    if role in ("red", "amber", "green"):  # a lamp: lit (emissive) or dark glass
        lit = obj.state == LIGHT_STATES.index(role)
        return np.array(_LIT[role]) * (0.95 if lit else 0.1 * illum) + (0 if lit else 0.03 * illum)
    if role == "tail" and lighting == "dusk":
        return np.array((0.9, 0.08, 0.05))  # tail lights on at dusk
    fixed = {
        "cabin": body * 0.8,
        "window": np.array((0.12, 0.14, 0.18)),
        "tail": np.array((0.55, 0.05, 0.05)),
        "plate": np.array((0.85, 0.85, 0.8)),
        "tyre": np.array((0.05, 0.05, 0.05)),
        "legs": np.array((0.15, 0.15, 0.25)),
        "housing": np.array((0.08, 0.08, 0.08)),
    }
    colour = fixed.get(role)
    if role == "skin":
        colour = np.array((0.85, 0.65, 0.5)) * (0.55 + 0.45 * obj.colour[2])
    return (body if colour is None else colour) * illum


def _lane_rows(road: Road, camera: Camera, z_row: np.ndarray) -> np.ndarray:
    """Columns of the two lane boundaries at every row centre (NaN where not visible)."""
    valid = np.isfinite(z_row) & (z_row > 0) & (z_row <= 80)
    z = np.where(valid, z_row, 1.0)
    v = np.arange(camera.size[0]) + 0.5
    u = camera.centre[0] + road.boundaries(z) / camera.metres_per_pixel(
        np.where(valid, v, camera.size[0])
    )
    ok = valid[None, :] & (u >= 0) & (u <= camera.size[1])
    return np.where(ok, u, np.nan)


# --- random scenes ----------------------------------------------------------------------------


def _draw_objects(rng: np.random.Generator, road: Road, camera: Camera, counts) -> list:
    """Objects placed without heavy overlap: cars in either lane, pedestrians beside the
    road, a traffic light on the right."""
    lw = road.lane_width
    placed, boxes = [], []
    wanted = [0] * counts[0] + [1] * counts[1] + [2] * counts[2]
    for kind in wanted:
        for _ in range(20):  # tries
            if kind == 0:  # in the camera's lane or the one to its left
                lane = float(rng.choice([0.0, -lw]) + rng.uniform(-0.3, 0.3))
                colour = tuple(_CAR_COLOURS[rng.integers(len(_CAR_COLOURS))])
                obj = RoadObject(0, lane, float(rng.uniform(7, 45)), colour)
            elif kind == 1:  # on either verge
                side = rng.choice([-1.5 * lw - 1.2, lw / 2 + 1.2]) + rng.uniform(-0.6, 0.6)
                colour = tuple(rng.uniform(0.1, 0.9, size=3))
                obj = RoadObject(1, float(side), float(rng.uniform(6, 30)), colour)
            else:  # on the right
                state = int(rng.integers(len(LIGHT_STATES)))
                side = lw / 2 + rng.uniform(1.0, 1.8)
                obj = RoadObject(2, float(side), float(rng.uniform(8, 24)), state=state)
            box = _object_box(obj, road, camera)
            h, w = camera.size
            area = (box[2] - box[0]) * (box[3] - box[1])
            inside = (min(box[2], w) - max(box[0], 0)) * (min(box[3], h) - max(box[1], 0))
            if box[2] <= 0 or box[0] >= w or inside < 0.8 * area or box[3] - box[1] < 4:
                continue
            if boxes:
                b = np.array(boxes)
                ix = np.clip(np.minimum(b[:, 2], box[2]) - np.maximum(b[:, 0], box[0]), 0, None)
                iy = np.clip(np.minimum(b[:, 3], box[3]) - np.maximum(b[:, 1], box[1]), 0, None)
                own = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
                if np.any(ix * iy > 0.25 * np.minimum(own, area)):
                    continue
            placed.append(obj)
            boxes.append(box)
            break
    return placed


def random_scene(
    seed: int, split: str = "train", condition: str | None = None, objects: bool = True
) -> Frame:
    """Scene ``seed`` of ``split``, drawn from the course's distribution of roads.

    Parameters
    ----------
    seed : int >= 0
    split : "train", "validation" or "test"
        Each split has its own random stream (:data:`SPLITS`).
    condition : one of :data:`CONDITIONS`, optional
        ``None`` draws every aspect at random (the training mix: day 60 %, dusk 20 %,
        glare 20 %; fog and rain 15 % each; shadows, wear and curves half of the time).
        "clean" is a straight, unworn road by day, dry and unshadowed; every other
        condition is "clean" with one change: ``shadows`` (5 tree shadows, one across
        the road), ``worn`` (70 % of the paint gone), ``curves`` (radius 100-200 m),
        ``glare``, ``dusk``, ``fog``, ``rain``.
    objects : bool
        Place 0-3 cars, 0-2 pedestrians and 0-1 traffic light (False: an empty road).
    """
    seed = check_int(seed, "seed", 0)
    check_choice(split, "split", SPLITS)
    if condition is not None:
        check_choice(condition, "condition", CONDITIONS)
    rng = np.random.default_rng([SPLITS.index(split), seed])
    road = Road(
        offset=float(rng.uniform(-0.5, 0.5)),
        heading=float(rng.uniform(-0.02, 0.02)),
        left_marking=str(rng.choice(["dashed", "dashed", "solid"])),
    )
    if condition is None:
        lighting = str(rng.choice(LIGHTING, p=[0.6, 0.2, 0.2]))
        weather = str(rng.choice(WEATHER, p=[0.7, 0.15, 0.15]))
        shadows = int(rng.integers(1, 7)) if rng.random() < 0.5 else 0
        wear = float(rng.uniform(0, 0.75)) if rng.random() < 0.5 else 0.0
        curvature = float(rng.uniform(-0.01, 0.01)) if rng.random() < 0.5 else 0.0
    else:
        lighting = {"glare": "glare", "dusk": "dusk"}.get(condition, "day")
        weather = {"fog": "fog", "rain": "rain"}.get(condition, "clear")
        shadows = 5 if condition == "shadows" else 0
        wear = 0.7 if condition == "worn" else 0.0
        # Every condition draws the same 5 numbers (the curve's side and radius among them),
        # so the objects that follow are the same draws whatever the condition.
        side, radius = rng.random(5)[:2]
        bend = (1.0 if side < 0.5 else -1.0) / (100.0 + 100.0 * float(radius))
        curvature = bend if condition == "curves" else 0.0
    road = replace(road, curvature=curvature, wear=wear)
    counts = (rng.integers(0, 4), rng.integers(0, 3), rng.integers(0, 2)) if objects else (0, 0, 0)
    placed = _draw_objects(rng, road, CAMERA, counts)
    return render(road, placed, lighting=lighting, weather=weather, shadows=shadows, seed=rng)


def scene_batch(seeds, split: str = "train", condition: str | None = None, progress: bool = False):
    """Frames for ``seeds``, as ``(images (N, 3, H, W) float32, frames)`` for training."""
    seeds = list(seeds)
    if progress:
        from tqdm.auto import tqdm

        seeds = tqdm(seeds, desc=f"{split} scenes", leave=False)
    frames = [random_scene(s, split, condition) for s in seeds]
    images = (
        np.stack([f.image.transpose(2, 0, 1) for f in frames])
        if frames
        else np.zeros((0, 3, *CAMERA.size), np.float32)
    )
    return images, frames


def light_crops(frames, size=(24, 12), pad: float = 0.15):
    """Every traffic light of ``frames`` cut out and resized to ``size`` (rows, cols):
    ``(crops (N, rows, cols, 3), states (N,), lightings (N,))``. The box is enlarged by
    ``pad`` of its size on each side, as a detector's box would be loose."""
    from skimage.transform import resize

    crops, states, lights = [], [], []
    for f in frames:
        for box, kind, state in zip(f.boxes, f.classes, f.states, strict=True):
            if kind != 2:
                continue
            x1, y1, x2, y2 = box
            px, py = pad * (x2 - x1), pad * (y2 - y1)
            h, w = f.image.shape[:2]
            c0, c1 = int(max(np.floor(x1 - px), 0)), int(min(np.ceil(x2 + px), w))
            r0, r1 = int(max(np.floor(y1 - py), 0)), int(min(np.ceil(y2 + py), h))
            crop = f.image[r0:r1, c0:c1]
            crops.append(resize(crop, size, order=1, anti_aliasing=True).astype(np.float32))
            states.append(int(state))
            lights.append(f.conditions["lighting"])
    n = len(crops)
    return (
        (np.stack(crops) if n else np.zeros((0, *size, 3), np.float32)),
        np.array(states, dtype=np.int64),
        np.array(lights),
    )
