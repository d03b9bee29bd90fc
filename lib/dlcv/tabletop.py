"""A table top in a physics simulator: objects, a fixed camera and a Franka Panda arm.

Chapter 12 turns a command into an arm picking something up. This module is the world
it acts in: seeded table tops with a few graspable objects from ``pybullet_data`` (the
simulator's own models), a pinhole camera rendered on the CPU (RGB, metric depth and an
exact segmentation mask of body ids), the pinhole model written out both ways
(:func:`world_to_pixel`, :func:`pixel_to_world`), inverse kinematics for the arm
(:func:`reach`), a scripted top-down grasp (:func:`pick`) and a judge that decides success
from where the objects ended up (:func:`judge`), never from what the planner believed.

The simulation is real physics (pybullet's Bullet engine: gravity, contacts, friction,
motors with force limits); what it leaves out is a real camera's noise, a real gripper's
compliance and clutter. Numbers measured here compare methods on the same controlled
task; they are not what a real robot would score.

World frame, in metres: the table top is the plane ``z = 0`` (:data:`TABLE_TOP`), the
arm's base stands on it at the origin, ``x`` points away from the arm across the table,
``y`` to its left, ``z`` up. Objects stand in :data:`WORKSPACE`. Pixels follow chapter
11's convention: pixel (row ``i``, column ``j``) covers ``j <= u < j + 1`` and
``i <= v < i + 1``, so its centre is ``(u, v) = (j + 0.5, i + 0.5)``.

:func:`pick_at_true_position` is the upper bound of the whole pipeline (perfect
perception and grounding: only the grasp can fail); ``scripts/tabletop_picks.py`` runs it
on every object of many scenes and :func:`load_pick_results` reads the table back.
What it found (the run at commit 7d7ce90, 917 picks in 285 s with one process): at the
true centre every object of scenes 0-99 is picked (470 of 470), and 1 cm off the centre
still every one of scenes 0-29 (149 of 149); 2 cm off, 89 % (ducks 79 %, the rounder
balls 100 %), 3 cm off, 56 % (balls 15 %: the fingers slide off a sphere's flank). Every
failure was a missed grasp; no other object moved more than 0.04 mm in any pick. So the
grasp is not what limits the chapter's pipeline: perception has to put the grasp point
within about 1-2 cm of an object's centre, and grounding has to name the right object.

Measured by ``benchmarks/bench_tabletop.py`` on the course's 2-core machine (CPU time,
medians; ``benchmarks/README.md``): :func:`make_scene` about 80 ms, :func:`render` at
160 x 120 about 28 ms (41 ms at 320 x 240), :func:`reach` about 70 ms, a whole
:func:`pick` about 0.3 s. Inverse kinematics reached 100 of 100 targets in the workspace;
97 of them were within 1 cm once the arm had moved (the other three were low, and the arm
pushed an object on its way).

Each :class:`Scene` owns its own simulator connection (``p.DIRECT``: no window, no
OpenGL), so scenes never share state; close it with :meth:`Scene.close` or a ``with``
block. The same seed gives the same scene, the same images and the same outcome.

>>> with make_scene(0) as scene:
...     frame = render(scene, Camera())
...     len(scene.objects) in range(3, 7), frame.rgb.shape, frame.depth.dtype
(True, (120, 160, 3), dtype('float64'))
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.resources
import math
import numbers
import os
import sys
import weakref
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from dlcv.validate import as_float_array, check_int


@contextlib.contextmanager
def _silenced():
    """Send what C code prints to file descriptors 1 and 2 to /dev/null meanwhile.

    pybullet prints a build banner from C when imported; a library import must print
    nothing (in Jupyter, a kernel shows what reaches descriptor 1 or 2 in the cell).
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no descriptors to redirect (an unusual embedding): just run
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).fflush(None)  # C's buffered output goes to /dev/null too
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


with _silenced():
    import pybullet as p
    import pybullet_data

__all__ = [
    "COLOURS",
    "FAILURES",
    "GRASP_STAGES",
    "KINDS",
    "LIFT_HEIGHT",
    "MOVED_TOLERANCE",
    "TABLE_TOP",
    "WORKSPACE",
    "Camera",
    "Frame",
    "Judgement",
    "Kind",
    "PICKS_COLUMNS",
    "PICKS_FILE",
    "Pick",
    "PickResults",
    "Reach",
    "Scene",
    "SceneObject",
    "depth_to_points",
    "judge",
    "load_pick_results",
    "make_scene",
    "object_positions",
    "pick",
    "pick_at_true_position",
    "pixel_to_world",
    "reach",
    "render",
    "world_to_pixel",
]

TABLE_TOP = 0.0
"""Height of the table top (m): the plane ``z = 0`` of the world frame."""

WORKSPACE = ((0.35, 0.68), (-0.25, 0.25))
"""Where object centres are placed: ``((x_min, x_max), (y_min, y_max))`` in metres, well
within the arm's reach for a top-down grasp."""

LIFT_HEIGHT = 0.10
"""How far (m) the named object must rise for a pick to count."""

MOVED_TOLERANCE = 0.02
"""How far (m) any other object may move before a pick counts as disturbing the table."""


class Kind(NamedTuple):
    """An object kind: its model in ``pybullet_data`` and how it is loaded.

    ``urdf`` is the file, ``scale`` the ``globalScaling`` that makes it fit the gripper
    (the Panda's fingers open to 8 cm), ``mass`` its mass in kg.
    """

    urdf: str
    scale: float
    mass: float = 0.1


KINDS = {
    "mug": Kind("objects/mug.urdf", 0.6),
    "duck": Kind("duck_vhacd.urdf", 0.7),
    "teddy": Kind("teddy_vhacd.urdf", 0.7),
    "cube": Kind("cube_small.urdf", 0.8),
    "ball": Kind("sphere_small.urdf", 0.8),
}
"""The object kinds a scene draws from, by name."""

COLOURS = {
    "red": (213, 94, 0),
    "yellow": (240, 228, 66),
    "green": (0, 158, 115),
    "blue": (0, 114, 178),
    "purple": (204, 121, 167),
}
"""Object colours by name, 8-bit RGB: the Okabe-Ito palette, which stays distinguishable
for most colour-blind readers ("red" is its vermillion, "purple" its reddish purple)."""

_ARM = tuple(range(7))  # the Panda's seven revolute joints
_FINGERS = (9, 10)  # its two prismatic finger joints (0 to 0.04 m each)
_HAND = 11  # the link between the fingertips: "panda_grasptarget", 10.5 cm below the hand
_HOME = (0.0, -0.6, 0.0, -2.4, 0.0, 1.8, math.pi / 4)  # arm raised, out of the camera's way
_ARM_FORCES = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)  # the Panda's torque limits (N m)
_FINGER_FORCE = 40.0
_STEP = 1 / 240  # the simulator's time step (s)
_SETTLE_STEPS = 120
_JOINT_SPEED = 1.0  # rad/s, the fastest any joint is driven (the Panda allows 2.2-2.6)
_GAP = 0.03  # between objects' footprints (m): room for a finger beside the grasped one


class SceneObject(NamedTuple):
    """One object on the table: ``kind`` and ``colour`` (names), ``body`` (the simulator's
    body id, the value its pixels hold in the segmentation mask) and ``position`` (3,), the
    centre of its bounding box once it has settled on the table."""

    kind: str
    colour: str
    body: int
    position: np.ndarray


@dataclass(eq=False)
class Scene:
    """A table top in its own simulator connection.

    Attributes
    ----------
    seed : int
        The seed that made it.
    client : int
        The pybullet physics client id; every call on this scene passes it.
    robot, table : int
        Body ids of the arm and the table.
    objects : tuple of SceneObject
        The objects, in the order they were placed.
    """

    seed: int
    client: int
    robot: int
    table: int
    objects: tuple[SceneObject, ...] = ()
    _finalizer: weakref.finalize = field(init=False, repr=False)

    def __post_init__(self):
        # Disconnect when closed, or at the latest when the scene is garbage-collected.
        self._finalizer = weakref.finalize(self, _disconnect, self.client)

    def object(self, body: int) -> SceneObject:
        """The :class:`SceneObject` whose body id is ``body`` (``ValueError`` if none)."""
        for obj in self.objects:
            if obj.body == body:
                return obj
        bodies = [o.body for o in self.objects]
        raise ValueError(f"body must be one of this scene's objects {bodies}, got {body!r}")

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has disconnected the simulator."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Disconnect the simulator (calling it twice is harmless)."""
        self._finalizer()

    def __enter__(self) -> Scene:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _disconnect(client: int) -> None:
    with contextlib.suppress(p.error):
        p.disconnect(physicsClientId=client)


def _check_scene(scene) -> Scene:
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a Scene (from make_scene), got {type(scene).__name__}")
    if scene.closed:
        raise ValueError("scene is closed: make a new one with make_scene(seed)")
    return scene


def _check_point(xyz, name: str = "xyz") -> np.ndarray:
    xyz = as_float_array(xyz, name, (1,), "(3,): x, y, z in metres", np.float64)
    if xyz.shape != (3,):
        raise ValueError(f"{name} must have shape (3,): x, y, z in metres, got shape {xyz.shape}")
    if not np.isfinite(xyz).all():
        raise ValueError(f"{name} must be finite, got {xyz.tolist()}")
    return xyz


def _white_texture(client: int) -> int:
    """A plain white texture, so that a colour set on a textured mesh shows as that colour."""
    path = importlib.resources.files("dlcv") / "assets" / "tabletop_white.png"
    return p.loadTexture(str(path), physicsClientId=client)


def _footprint(client: int, body: int) -> tuple[np.ndarray, float]:
    """The bounding box centre (3,) of ``body`` and the radius of its footprint (m)."""
    lo, hi = (np.array(a) for a in p.getAABB(body, physicsClientId=client))
    return (lo + hi) / 2, float(np.hypot(*(hi - lo)[:2]) / 2)


def make_scene(seed, n_objects=None) -> Scene:
    """A seeded table top: ``n_objects`` objects placed apart within the arm's reach.

    Each object gets a kind from :data:`KINDS` and a colour from :data:`COLOURS`, no two
    with the same pair, a random turn about the vertical and a place in :data:`WORKSPACE`
    with at least 3 cm between footprints (room for the gripper's fingers); the physics
    then runs for half a second so everything rests on the table. The arm starts raised.

    Parameters
    ----------
    seed : int
        Seeds everything; the same seed gives the same scene.
    n_objects : int, optional
        3 to 6; by default drawn from that range by the seed.

    Returns
    -------
    Scene
        Open, with its own simulator connection: close it when done.
    """
    seed = check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    count = int(rng.integers(3, 7)) if n_objects is None else check_int(n_objects, "n_objects", 3)
    if count > 6:
        raise ValueError(f"n_objects must be at most 6, got {n_objects!r}")
    with _silenced():
        client = p.connect(p.DIRECT)
    try:
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=client)
        p.setGravity(0, 0, -9.81, physicsClientId=client)
        p.setTimeStep(_STEP, physicsClientId=client)
        with _silenced():
            table = p.loadURDF("table/table.urdf", [0.5, 0, TABLE_TOP - 0.625],
                               useFixedBase=True, physicsClientId=client)  # fmt: skip
            robot = p.loadURDF("franka_panda/panda.urdf", [0, 0, TABLE_TOP],
                               useFixedBase=True, physicsClientId=client)  # fmt: skip
        _home(client, robot)
        white = _white_texture(client)
        objects = _place_objects(client, rng, count, white)
    except Exception:
        _disconnect(client)
        raise
    scene = Scene(seed, client, robot, table)
    for _ in range(_SETTLE_STEPS):
        p.stepSimulation(physicsClientId=client)
    scene.objects = tuple(
        SceneObject(kind, colour, body, _footprint(client, body)[0])
        for kind, colour, body in objects
    )
    return scene


def _home(client: int, robot: int) -> None:
    for joint, angle in zip(_ARM, _HOME, strict=True):
        p.resetJointState(robot, joint, angle, physicsClientId=client)
    for joint in _FINGERS:
        p.resetJointState(robot, joint, 0.04, physicsClientId=client)
    for link in (*_FINGERS, _HAND):
        p.changeDynamics(robot, link, lateralFriction=1.5, physicsClientId=client)
    _hold(client, robot, _HOME, 0.04)


def _layout(rng: np.random.Generator, radii: list[float]) -> np.ndarray:
    """Centres (N, 2) in :data:`WORKSPACE` whose footprints keep :data:`_GAP` apart."""
    (x0, x1), (y0, y1) = WORKSPACE
    while True:  # start over when the first objects left no room for the last ones
        centres = []
        for radius in radii:
            for _ in range(200):
                xy = rng.uniform((x0, y0), (x1, y1))
                if all(np.hypot(*(xy - c)) >= radius + r + _GAP for c, r in centres):
                    centres.append((xy, radius))
                    break
            else:
                break
        else:
            return np.array([c for c, _ in centres])


def _place_objects(client: int, rng: np.random.Generator, count: int, white: int):
    """Load ``count`` objects of distinct (kind, colour), set their physics and colour, and
    put them apart on the table; return their (kind, colour, body)."""
    pairs = [(k, c) for k in KINDS for c in COLOURS]
    chosen = [pairs[i] for i in rng.choice(len(pairs), size=count, replace=False)]
    bodies, radii = [], []
    for kind, colour in chosen:
        spec = KINDS[kind]
        yaw = rng.uniform(-math.pi, math.pi)
        with _silenced():
            body = p.loadURDF(spec.urdf, [0, 0, 1], p.getQuaternionFromEuler([0, 0, yaw]),
                              globalScaling=spec.scale, physicsClientId=client)  # fmt: skip
        lo, hi = (np.array(a) for a in p.getAABB(body, physicsClientId=client))
        size = hi - lo
        inertia = spec.mass / 12 * np.array([size[1] ** 2 + size[2] ** 2,
                                             size[0] ** 2 + size[2] ** 2,
                                             size[0] ** 2 + size[1] ** 2])  # fmt: skip
        p.changeDynamics(body, -1, mass=spec.mass, localInertiaDiagonal=inertia.tolist(),
                         lateralFriction=1.0, rollingFriction=0.001, spinningFriction=0.001,
                         physicsClientId=client)  # fmt: skip
        rgba = [*(np.array(COLOURS[colour]) / 255), 1.0]
        p.changeVisualShape(body, -1, rgbaColor=rgba, textureUniqueId=white,
                            physicsClientId=client)  # fmt: skip
        bodies.append((body, lo, hi))
        radii.append(float(np.hypot(*size[:2]) / 2))
    for (body, lo, hi), xy in zip(bodies, _layout(rng, radii), strict=True):
        base, orientation = p.getBasePositionAndOrientation(body, physicsClientId=client)
        shift = [xy[0] - (lo[0] + hi[0]) / 2, xy[1] - (lo[1] + hi[1]) / 2,
                 TABLE_TOP + 0.002 - lo[2]]  # fmt: skip
        p.resetBasePositionAndOrientation(body, np.add(base, shift), orientation,
                                          physicsClientId=client)  # fmt: skip
    return [
        (kind, colour, body) for (kind, colour), (body, _, _) in zip(chosen, bodies, strict=True)
    ]


def object_positions(scene) -> dict[int, np.ndarray]:
    """Where every object is now: body id -> the centre (3,) of its bounding box (m)."""
    scene = _check_scene(scene)
    return {o.body: _footprint(scene.client, o.body)[0] for o in scene.objects}


# --- The camera ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """A fixed pinhole camera looking at the table.

    Parameters
    ----------
    width, height : int
        Image size in pixels.
    fov : float
        Vertical field of view in degrees (pybullet's convention); pixels are square.
    eye, target : tuple of 3 floats
        Where the camera is and the point it looks at (m, world frame).
    up : tuple of 3 floats
        The world direction that appears upwards in the image.
    near, far : float
        The depth range the renderer keeps (m).

    Attributes
    ----------
    K : ndarray (3, 3)
        The intrinsics: ``[[f, 0, cx], [0, f, cy], [0, 0, 1]]`` with the focal length
        ``f = (height / 2) / tan(fov / 2)`` in pixels and the principal point
        ``(cx, cy) = (width / 2 + 0.5, height / 2 - 0.5)``: half a pixel off the image
        centre, because pybullet's TinyRenderer samples pixel (row ``i``, column ``j``)
        at the point ``(j, i + 1)`` of the ideal camera, not at its centre
        ``(j + 0.5, i + 0.5)``. Measured, not assumed: with the principal point at the
        image centre, the table's depth disagrees with the pinhole model by 2.8 mm on
        average at 160 x 120 (1.4 mm at 320 x 240); with this one it agrees to within
        0.01 mm (``tests/test_tabletop.py`` checks it). A real camera's principal point
        is found the same way, by calibration.
    R : ndarray (3, 3)
        The extrinsic rotation, world to camera: its rows are the camera's axes in world
        coordinates, ``x`` to the image's right, ``y`` down the image, ``z`` forward.
    t : ndarray (3,)
        The extrinsic translation, ``t = -R @ eye``, so that ``x_cam = R @ x_world + t``.
    """

    width: int = 160
    height: int = 120
    fov: float = 50.0
    eye: tuple = (0.98, 0.0, 0.52)
    target: tuple = (0.5, 0.0, 0.0)
    up: tuple = (0.0, 0.0, 1.0)
    near: float = 0.1
    far: float = 3.0

    def __post_init__(self):
        for name in ("width", "height"):
            check_int(getattr(self, name), name, 8)
        for name in ("fov", "near", "far"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
        if not self.fov < 180:
            raise ValueError(f"fov must be below 180 degrees, got {self.fov!r}")
        if not self.near < self.far:
            raise ValueError(f"near must be below far, got near={self.near!r}, far={self.far!r}")
        for name in ("eye", "target", "up"):
            object.__setattr__(self, name, tuple(_check_point(getattr(self, name), name)))
        forward = np.subtract(self.target, self.eye)
        if np.linalg.norm(forward) == 0:
            raise ValueError(f"eye and target must differ, both are {list(self.eye)}")
        if np.linalg.norm(np.cross(forward, self.up)) < 1e-9 * np.linalg.norm(forward):
            raise ValueError(f"up {list(self.up)} must not be parallel to the viewing direction")

    @property
    def focal(self) -> float:
        """The focal length in pixels: ``(height / 2) / tan(fov / 2)``."""
        return self.height / 2 / math.tan(math.radians(self.fov) / 2)

    @property
    def K(self) -> np.ndarray:
        """The intrinsic matrix (3, 3); see the class's description."""
        f, cx, cy = self.focal, self.width / 2 + 0.5, self.height / 2 - 0.5
        return np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])

    @property
    def R(self) -> np.ndarray:
        """The rotation (3, 3) from world to camera axes; see the class's description."""
        forward = np.subtract(self.target, self.eye)
        forward = forward / np.linalg.norm(forward)
        right = np.cross(forward, self.up)
        right = right / np.linalg.norm(right)
        down = np.cross(forward, right)
        return np.array([right, down, forward])

    @property
    def t(self) -> np.ndarray:
        """The translation (3,) from world to camera: ``-R @ eye``."""
        return -self.R @ np.array(self.eye)

    def view_matrix(self) -> list:
        """pybullet's view matrix (OpenGL, column-major) for this camera."""
        return p.computeViewMatrix(self.eye, self.target, self.up)

    def projection_matrix(self) -> list:
        """pybullet's projection matrix (OpenGL, column-major) for this camera."""
        return p.computeProjectionMatrixFOV(self.fov, self.width / self.height, self.near, self.far)


def _check_camera(camera) -> Camera:
    if not isinstance(camera, Camera):
        raise TypeError(f"camera must be a Camera, got {type(camera).__name__}")
    return camera


class Frame(NamedTuple):
    """What the camera sees.

    ``rgb`` (H, W, 3) uint8; ``depth`` (H, W) float64, each pixel's distance along the
    camera's axis (its ``z`` in the camera frame) in metres, ``inf`` where nothing was
    hit; ``segmentation`` (H, W) int64, the body id seen at each pixel (``-1``: none).
    """

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray


def render(scene, camera) -> Frame:
    """Render the scene through ``camera`` on the CPU (pybullet's TinyRenderer).

    The renderer's depth buffer holds ``d`` in [0, 1], not metres: a perspective
    projection stores depth non-linearly (finely near the camera, coarsely far away).
    Inverting the projection gives the metric depth
    ``z = far * near / (far - (far - near) * d)``.

    Returns
    -------
    Frame
        RGB (H, W, 3) uint8, metric depth (H, W) and the segmentation mask (H, W).
    """
    scene, camera = _check_scene(scene), _check_camera(camera)
    w, h = camera.width, camera.height
    _, _, rgba, buffer, seg = p.getCameraImage(
        w, h, camera.view_matrix(), camera.projection_matrix(),
        lightDirection=[0.4, -0.3, 1.0], shadow=0, renderer=p.ER_TINY_RENDERER,
        physicsClientId=scene.client,
    )  # fmt: skip
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(h, w, 4)[:, :, :3].copy()
    d = np.asarray(buffer, dtype=np.float64).reshape(h, w)
    near, far = camera.near, camera.far
    depth = far * near / (far - (far - near) * d)
    segmentation = np.asarray(seg, dtype=np.int64).reshape(h, w)
    depth[segmentation < 0] = np.inf  # no body there: the buffer holds the far plane
    return Frame(rgb, depth, segmentation)


def world_to_pixel(camera, xyz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project world points into the image: the pinhole model.

    ``x_cam = R @ xyz + t`` moves a point into the camera frame; dividing by its depth
    ``z_cam`` and scaling by the focal length gives the pixel:
    ``u = f * x_cam / z_cam + cx``, ``v = f * y_cam / z_cam + cy``.

    Parameters
    ----------
    camera : Camera
    xyz : array_like (3,) or (N, 3)
        Points in the world frame (m).

    Returns
    -------
    u, v, depth : ndarray () or (N,)
        Continuous pixel coordinates (column, row) and the depth ``z_cam`` (m). Points
        behind the camera get a negative depth and meaningless ``u, v``.
    """
    camera = _check_camera(camera)
    pts = as_float_array(xyz, "xyz", (1, 2), "(3,) or (N, 3): x, y, z in metres", np.float64)
    if pts.shape[-1] != 3:
        raise ValueError(f"xyz must have shape (3,) or (N, 3), got shape {pts.shape}")
    cam = pts @ camera.R.T + camera.t  # each row: R @ point + t
    x, y, z = cam[..., 0], cam[..., 1], cam[..., 2]
    K = camera.K
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K[0, 0] * x / z + K[0, 2]
        v = K[1, 1] * y / z + K[1, 2]
    return u, v, z


def pixel_to_world(camera, u, v, depth) -> np.ndarray:
    """Back-project pixels with their depth to world points: the pinhole model inverted.

    A pixel alone fixes only a ray; its depth says how far along it the point is:
    ``x_cam = (u - cx) * depth / f``, ``y_cam = (v - cy) * depth / f``, ``z_cam = depth``,
    then ``xyz = R.T @ (x_cam - t)`` goes back to the world frame.

    Parameters
    ----------
    camera : Camera
    u, v : float or array_like
        Continuous pixel coordinates: column and row (pixel ``(i, j)``'s centre is
        ``u = j + 0.5``, ``v = i + 0.5``).
    depth : float or array_like
        Depth along the camera's axis (m), as :func:`render` returns it; positive.
        ``u``, ``v`` and ``depth`` broadcast together.

    Returns
    -------
    ndarray (..., 3)
        The world points, one per broadcast element.
    """
    camera = _check_camera(camera)
    arrays = []
    for name, value in (("u", u), ("v", v), ("depth", depth)):
        a = as_float_array(np.atleast_1d(value), name, range(1, 33), "a number or an array",
                           np.float64).reshape(np.shape(value))  # fmt: skip
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite (a pixel with depth inf saw nothing)")
        arrays.append(a)
    try:
        u, v, depth = np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = [a.shape for a in arrays]
        raise ValueError(f"u, v and depth must broadcast together, got shapes {shapes}") from None
    if (depth <= 0).any():
        raise ValueError(f"depth must be positive (metres in front of the camera), "
                         f"got minimum {depth.min()}")  # fmt: skip
    K = camera.K
    cam = np.stack([(u - K[0, 2]) * depth / K[0, 0], (v - K[1, 2]) * depth / K[1, 1], depth], -1)
    return (cam - camera.t) @ camera.R  # each row: R.T @ (x_cam - t)


def depth_to_points(camera, depth) -> np.ndarray:
    """The world point (H, W, 3) seen at every pixel's centre of a depth image (H, W).

    Pixels that saw nothing (depth ``inf``) give ``nan``.
    """
    camera = _check_camera(camera)
    depth = as_float_array(depth, "depth", (2,), "(H, W) in metres", np.float64)
    if depth.shape != (camera.height, camera.width):
        raise ValueError(f"depth must have the camera's shape {(camera.height, camera.width)}, "
                         f"got {depth.shape}")  # fmt: skip
    seen = np.isfinite(depth)
    rows, cols = np.indices(depth.shape)
    filled = np.where(seen, depth, 1.0)
    points = pixel_to_world(camera, cols + 0.5, rows + 0.5, filled)
    points[~seen] = np.nan
    return points


# --- The arm ------------------------------------------------------------------------------


class Reach(NamedTuple):
    """The answer of :func:`reach`.

    ``reachable``: inverse kinematics found joint angles within the limits that put the
    gripper at the target, pointing down, within the tolerance; ``joints`` (7,) those
    angles (the best found when not reachable); ``error``: the distance (m) from the
    gripper to the target, measured on the arm after it moved (or, when unreachable and
    the arm stayed put, the best the solver got).
    """

    reachable: bool
    joints: np.ndarray
    error: float


def _limits(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    info = [p.getJointInfo(scene.robot, j, physicsClientId=scene.client) for j in _ARM]
    return np.array([i[8] for i in info]), np.array([i[9] for i in info])


def _joint_angles(scene: Scene, joints=_ARM) -> np.ndarray:
    states = p.getJointStates(scene.robot, joints, physicsClientId=scene.client)
    return np.array([s[0] for s in states])


def _gripper_pose(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Position (3,) of the point between the fingertips and the gripper's axis (3,)."""
    state = p.getLinkState(scene.robot, _HAND, computeForwardKinematics=True,
                           physicsClientId=scene.client)  # fmt: skip
    axis = np.array(p.getMatrixFromQuaternion(state[5])).reshape(3, 3)[:, 2]
    return np.array(state[4]), axis


def _solve(scene: Scene, xyz: np.ndarray, yaw: float, tolerance: float, start=None):
    """Iterate pybullet's IK (damped least squares) from the arm's current angles (or
    from ``start`` (7,)).

    Each round solves, clamps to the joint limits, sets the arm there and measures the
    gripper by forward kinematics; the arm is put back as it was before returning (no
    simulation step happens meanwhile, so nothing in the world moves).
    """
    client, robot = scene.client, scene.robot
    joints = (*_ARM, *_FINGERS)
    saved = p.getJointStates(robot, joints, physicsClientId=client)
    saved_angles = np.array([s[0] for s in saved])
    lower, upper = _limits(scene)
    down = p.getQuaternionFromEuler([math.pi, 0.0, yaw])  # fingers close along (sin, -cos)
    rest = list(_HOME) + [0.04, 0.04]
    best = (math.inf, saved_angles[:7])
    try:
        for joint, angle in zip(_ARM, saved_angles[:7] if start is None else start, strict=True):
            p.resetJointState(robot, joint, angle, physicsClientId=client)
        for _ in range(20):
            q = p.calculateInverseKinematics(
                robot, _HAND, xyz.tolist(), down,
                lowerLimits=[*lower, 0, 0], upperLimits=[*upper, 0.04, 0.04],
                jointRanges=[*(upper - lower), 0.04, 0.04], restPoses=rest,
                maxNumIterations=100, residualThreshold=1e-5, physicsClientId=client,
            )  # fmt: skip
            q = np.clip(np.array(q[:7]), lower, upper)
            for joint, angle in zip(_ARM, q, strict=True):
                p.resetJointState(robot, joint, angle, physicsClientId=client)
            position, axis = _gripper_pose(scene)
            error = float(np.linalg.norm(position - xyz))
            pointing_down = axis[2] < -math.cos(math.radians(5))
            if error < best[0]:
                best = (error, q)
            if error < tolerance and pointing_down:
                return True, q, error
        return False, best[1], best[0]
    finally:  # put back angles and velocities (resetJointState zeroes the velocity)
        for joint, state in zip(joints, saved, strict=True):
            p.resetJointState(robot, joint, state[0], state[1], physicsClientId=client)


def _hold(client: int, robot: int, joints, finger: float) -> None:
    """Command the arm's motors to ``joints`` (7,) and each finger to ``finger`` (m)."""
    p.setJointMotorControlArray(robot, _ARM, p.POSITION_CONTROL, targetPositions=list(joints),
                                forces=_ARM_FORCES, physicsClientId=client)  # fmt: skip
    p.setJointMotorControlArray(robot, _FINGERS, p.POSITION_CONTROL, targetPositions=[finger] * 2,
                                forces=[_FINGER_FORCE] * 2, physicsClientId=client)  # fmt: skip


def _move(scene: Scene, joints, finger: float, settle_steps: int = 120) -> None:
    """Drive the arm to ``joints`` (7,) under physics, then let it settle.

    The motors follow a straight line in joint space at :data:`_JOINT_SPEED` at most (a
    position controller told to jump overshoots and swings the hand into the table), then
    hold the target for up to ``settle_steps`` steps, until every joint is within 2 mrad.
    """
    client, robot = scene.client, scene.robot
    start, joints = _joint_angles(scene), np.asarray(joints, dtype=float)
    n = max(1, math.ceil(np.abs(joints - start).max() / (_JOINT_SPEED * _STEP)))
    for k in range(1, n + 1):
        _hold(client, robot, start + (joints - start) * k / n, finger)
        p.stepSimulation(physicsClientId=client)
    for step in range(settle_steps):
        if step % 10 == 0 and np.abs(_joint_angles(scene) - joints).max() < 2e-3:
            break
        p.stepSimulation(physicsClientId=client)


def _check_tolerance(tolerance) -> float:
    if not isinstance(tolerance, numbers.Real) or isinstance(tolerance, bool):
        raise TypeError(f"tolerance must be a number of metres, got {tolerance!r}")
    if not 0 < tolerance <= 0.1:
        raise ValueError(f"tolerance must be in (0, 0.1] metres, got {tolerance!r}")
    return float(tolerance)


def _check_yaw(yaw) -> float:
    if not isinstance(yaw, numbers.Real) or isinstance(yaw, bool) or not math.isfinite(yaw):
        raise TypeError(f"yaw must be a finite number of radians, got {yaw!r}")
    return float(yaw)


def reach(scene, xyz, yaw=0.0, tolerance=0.01) -> Reach:
    """Move the gripper to ``xyz``, pointing straight down, by inverse kinematics.

    pybullet's solver (damped least squares on the arm's Jacobian) is run again from its
    own answer until forward kinematics puts the gripper within ``tolerance`` of the
    target. If that fails the target is unreachable and the arm stays where it is;
    otherwise the arm's motors drive it there under physics and the error is measured on
    the arm where it stopped.

    Parameters
    ----------
    scene : Scene
    xyz : array_like (3,)
        The target for the point between the fingertips (m, world frame).
    yaw : float
        Turn of the gripper about the vertical (radians); at 0 the fingers close along
        the world's ``y`` axis.
    tolerance : float
        How close (m) counts as there, in (0, 0.1].

    Returns
    -------
    Reach
    """
    scene, xyz = _check_scene(scene), _check_point(xyz)
    yaw, tolerance = _check_yaw(yaw), _check_tolerance(tolerance)
    ok, joints, error = _solve(scene, xyz, yaw, tolerance)
    if not ok:
        return Reach(False, joints, error)
    finger = float(np.mean(_joint_angles(scene, _FINGERS)))
    _move(scene, joints, finger)
    return Reach(True, joints, float(np.linalg.norm(_gripper_pose(scene)[0] - xyz)))


# --- Picking and judging ------------------------------------------------------------------


class Pick(NamedTuple):
    """What happened in a :func:`pick`.

    ``reachable``: every waypoint of the grasp had an inverse-kinematics solution (when
    not, the arm did not move); ``before`` and ``after``: :func:`object_positions` at the
    start and at the end; ``frames``: RGB images (H, W, 3) uint8 at each stage, named in
    ``stages`` (empty when no camera was given).
    """

    reachable: bool
    before: dict
    after: dict
    frames: list
    stages: list


GRASP_STAGES = ("start", "above", "down", "closed", "lifted", "held")
"""The moments of a pick that :func:`pick` renders, in order."""


def pick(scene, xyz, yaw=0.0, camera=None) -> Pick:
    """A scripted top-down grasp at ``xyz``: approach above, descend, close, lift.

    The gripper opens, moves 15 cm above the target, descends in 2 cm steps to the
    target's height (but no lower than 1.5 cm above the table, so the fingertips clear
    it), closes with 40 N per finger, lifts by 20 cm and holds for half a second. All of it
    runs in the physics simulation: whether the object comes along is decided by
    contacts and friction, and :func:`judge` reads the result off the objects.

    Parameters
    ----------
    scene : Scene
    xyz : array_like (3,)
        Where to grasp (m, world frame): an object's centre, or what perception thinks it is.
    yaw : float
        The gripper's turn about the vertical (radians), as in :func:`reach`.
    camera : Camera, optional
        When given, a frame is rendered at each of :data:`GRASP_STAGES`.

    Returns
    -------
    Pick
    """
    scene, xyz = _check_scene(scene), _check_point(xyz)
    yaw = _check_yaw(yaw)
    if camera is not None:
        _check_camera(camera)
    frames, stages = [], []

    def snap(stage):
        if camera is not None:
            frames.append(render(scene, camera).rgb)
            stages.append(stage)

    before = object_positions(scene)
    snap("start")
    grasp_z = max(float(xyz[2]), TABLE_TOP + 0.015)
    heights = [grasp_z + 0.15, *np.arange(grasp_z + 0.13, grasp_z, -0.02), grasp_z]
    lift = [grasp_z + 0.05, grasp_z + 0.10, grasp_z + 0.15, grasp_z + 0.20]
    plan, start = [], None
    for z in (*heights, *lift):
        ok, joints, _ = _solve(scene, np.array([xyz[0], xyz[1], z]), yaw, 0.01, start)
        if not ok:
            return Pick(False, before, object_positions(scene), frames, stages)
        plan.append(joints)
        start = joints  # solve the next waypoint from this one: a smooth path
    return _execute(scene, plan, len(heights), before, snap, frames, stages)


def _execute(scene: Scene, plan, n_down: int, before: dict, snap, frames, stages) -> Pick:
    """Run a planned grasp under physics: ``plan[:n_down]`` down, close, ``plan[n_down:]`` up."""
    client, robot = scene.client, scene.robot
    _move(scene, plan[0], 0.04)  # open, above the target
    snap("above")
    for joints in plan[1:n_down]:
        _move(scene, joints, 0.04, settle_steps=0)
    _move(scene, plan[n_down - 1], 0.04)
    snap("down")
    _hold(client, robot, plan[n_down - 1], 0.0)
    for _ in range(120):
        p.stepSimulation(physicsClientId=client)
    snap("closed")
    for joints in plan[n_down:]:
        _move(scene, joints, 0.0, settle_steps=0)
    snap("lifted")
    for _ in range(120):
        p.stepSimulation(physicsClientId=client)
    snap("held")
    return Pick(True, before, object_positions(scene), frames, stages)


class Judgement(NamedTuple):
    """The verdict of :func:`judge`: ``success``, a ``reason`` (``""`` on success, else
    one of :data:`FAILURES`), how far the named object rose (``lift``, m) and how far the
    others moved at most (``others_moved``, m; 0 when there are none)."""

    success: bool
    reason: str
    lift: float
    others_moved: float


FAILURES = ("unreachable", "missed grasp", "wrong object", "other object moved")
"""Why a pick can fail, as :func:`judge` names it:

* ``"unreachable"``: the planner found no way to the grasp, so the arm never moved;
* ``"missed grasp"``: the named object did not rise :data:`LIFT_HEIGHT`;
* ``"wrong object"``: it did not, but another object did (the grasp went elsewhere);
* ``"other object moved"``: it rose, but another object moved more than
  :data:`MOVED_TOLERANCE` (knocked over, pushed, or lifted along)."""


def _check_positions(scene: Scene, positions, name: str) -> dict:
    if not isinstance(positions, dict):
        raise TypeError(f"{name} must be a dict from object_positions(scene), "
                        f"got {type(positions).__name__}")  # fmt: skip
    bodies = sorted(o.body for o in scene.objects)
    if sorted(positions) != bodies:
        raise ValueError(f"{name} must hold every object of the scene {bodies}, "
                         f"got the bodies {sorted(positions)}")  # fmt: skip
    return {b: _check_point(xyz, f"{name}[{b}]") for b, xyz in positions.items()}


def judge(scene, before, after, target_body, reachable=True) -> Judgement:
    """Did the pick succeed? Decided from where the objects are, never from the planner.

    Success: the object ``target_body`` rose at least :data:`LIFT_HEIGHT` and no other
    object moved more than :data:`MOVED_TOLERANCE`. ``reachable`` (what the planner
    said) only names the reason of a failure; it cannot make a pick succeed.

    Parameters
    ----------
    scene : Scene
    before, after : dict
        :func:`object_positions` before and after the attempt.
    target_body : int
        The body id of the object that should have been picked.
    reachable : bool
        Whether the planner found a way (``Pick.reachable``).

    Returns
    -------
    Judgement
    """
    scene = _check_scene(scene)
    before = _check_positions(scene, before, "before")
    after = _check_positions(scene, after, "after")
    target = scene.object(target_body).body
    if not isinstance(reachable, (bool, np.bool_)):
        raise TypeError(f"reachable must be True or False, got {reachable!r}")
    lift = float(after[target][2] - before[target][2])
    others = [b for b in before if b != target]
    moved = {b: float(np.linalg.norm(after[b] - before[b])) for b in others}
    most = max(moved.values(), default=0.0)
    lifted_other = any(after[b][2] - before[b][2] >= LIFT_HEIGHT for b in others)
    if lift >= LIFT_HEIGHT and most <= MOVED_TOLERANCE:
        return Judgement(True, "", lift, most)
    if not reachable:
        reason = "unreachable"
    elif lift < LIFT_HEIGHT:
        reason = "wrong object" if lifted_other else "missed grasp"
    else:
        reason = "other object moved"
    return Judgement(False, reason, lift, most)


# --- The upper bound: picks at the true positions (scripts/tabletop_picks.py) --------------

PICKS_FILE = "tabletop_picks.csv"
"""The file :func:`load_pick_results` reads, written by ``scripts/tabletop_picks.py``."""

PICKS_COLUMNS = ["offset", "seed", "n_objects", "index", "kind", "colour", "x", "y", "z",
                 "direction", "reachable", "success", "reason", "lift", "others_moved",
                 "seconds"]  # fmt: skip
"""One row per pick: the grasp's horizontal ``offset`` from the true centre (m), which
object (seed, its index in ``Scene.objects``, kind, colour, true centre ``x, y, z``), the
offset's ``direction`` (radians from the ``x`` axis), the pick's verdict (``reachable``
and ``success`` as 0 or 1, ``reason`` blank on success, ``lift`` and ``others_moved`` in
metres) and its wall time."""


def pick_at_true_position(seed, index, offset=0.0) -> dict:
    """Pick object ``index`` of scene ``seed`` at its true centre and judge it.

    Perfect perception and perfect grounding: what is left to fail is the grasp itself.
    With ``offset`` the grasp misses the centre by that much horizontally, in a direction
    drawn from ``(seed, index)``: how precise must perception be? This is one row of
    :data:`PICKS_COLUMNS`; the chapter can re-run any row live.

    Parameters
    ----------
    seed : int
        The scene's seed (:func:`make_scene`).
    index : int
        Which object, an index into ``Scene.objects``.
    offset : float
        Horizontal distance (m, 0 to 0.1) between the grasp point and the true centre.

    Returns
    -------
    dict
        The row, keyed by :data:`PICKS_COLUMNS`.
    """
    import time

    index = check_int(index, "index", 0)
    if not isinstance(offset, numbers.Real) or isinstance(offset, bool):
        raise TypeError(f"offset must be a number of metres, got {offset!r}")
    if not 0 <= offset <= 0.1:
        raise ValueError(f"offset must be in [0, 0.1] metres, got {offset!r}")
    direction = float(np.random.default_rng([seed, index]).uniform(-math.pi, math.pi))
    start = time.perf_counter()
    with make_scene(seed) as scene:
        if index >= len(scene.objects):
            raise ValueError(f"index must be below the scene's {len(scene.objects)} objects, "
                             f"got {index}")  # fmt: skip
        target = scene.objects[index]
        shift = offset * np.array([math.cos(direction), math.sin(direction), 0.0])
        done = pick(scene, target.position + shift)
        verdict = judge(scene, done.before, done.after, target.body, done.reachable)
        n_objects = len(scene.objects)
    x, y, z = (round(float(c), 6) for c in target.position)
    return {"offset": float(offset), "seed": seed, "n_objects": n_objects, "index": index,
            "kind": target.kind, "colour": target.colour, "x": x, "y": y, "z": z,
            "direction": round(direction, 6), "reachable": int(done.reachable),
            "success": int(verdict.success), "reason": verdict.reason,
            "lift": round(verdict.lift, 6), "others_moved": round(verdict.others_moved, 6),
            "seconds": round(time.perf_counter() - start, 3)}  # fmt: skip


class PickResults(NamedTuple):
    """:data:`PICKS_FILE` read back: ``rows`` (dicts keyed by :data:`PICKS_COLUMNS`) and
    ``header`` (the comment lines: command, date, library commit, machine)."""

    rows: list
    header: list

    def offsets(self) -> list:
        """The grasp offsets (m) the table holds, in increasing order."""
        return sorted({r["offset"] for r in self.rows})

    def _at(self, offset, kind=None) -> list:
        if offset not in self.offsets():
            raise ValueError(f"offset must be one of {self.offsets()}, got {offset!r}")
        rows = [r for r in self.rows if r["offset"] == offset]
        if kind is not None and not any(r["kind"] == kind for r in rows):
            raise ValueError(f"kind must be one of {sorted({r['kind'] for r in rows})}, "
                             f"got {kind!r}")  # fmt: skip
        return [r for r in rows if kind is None or r["kind"] == kind]

    def success_rate(self, offset=0.0, kind=None) -> float:
        """The share of picks at ``offset`` that succeeded, of every kind or of one."""
        rows = self._at(offset, kind)
        return sum(r["success"] for r in rows) / len(rows)

    def failures(self, offset=0.0) -> dict:
        """How many picks at ``offset`` failed for each reason of :data:`FAILURES`."""
        rows = self._at(offset)
        return {reason: sum(r["reason"] == reason for r in rows) for reason in FAILURES}


def _damaged(row: dict) -> str | None:
    """What is wrong with ``row`` (a column name and its value), or None."""
    for column in ("seed", "n_objects", "index", "reachable", "success"):
        if not isinstance(row[column], int) or isinstance(row[column], bool):
            return f"{column} = {row[column]!r}"
    for column in ("offset", "x", "y", "z", "direction", "lift", "others_moved", "seconds"):
        value = row[column]
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{column} = {value!r}"
    checks = {
        "offset": 0 <= row["offset"] <= 0.1,
        "kind": row["kind"] in KINDS,
        "colour": row["colour"] in COLOURS,
        "n_objects": 3 <= row["n_objects"] <= 6,
        "index": 0 <= row["index"] < row["n_objects"],
        "reachable": row["reachable"] in (0, 1),
        "success": row["success"] in (0, 1),
        "reason": (row["reason"] == "") == (row["success"] == 1)
        and row["reason"] in ("", *FAILURES),
    }
    for column, good in checks.items():
        if not good:
            return f"{column} = {row[column]!r}"
    return None


def load_pick_results(folder=None) -> PickResults:
    """:data:`PICKS_FILE` from the package's assets (or from ``folder``), checked.

    A missing file raises ``FileNotFoundError`` naming ``scripts/tabletop_picks.py``; a
    damaged one (a column lost, no rows, a number that is text or not finite, an unknown
    kind, colour or reason, a success with a reason or a failure without one) raises
    ``ValueError`` naming the row and the column.
    """
    from dlcv.grid import read_results

    [(rows, header)] = read_results([PICKS_FILE], "scripts/tabletop_picks.py", folder)
    if not rows or any(c not in rows[0] for c in PICKS_COLUMNS):
        have = sorted(rows[0]) if rows else []
        raise ValueError(f"{PICKS_FILE} is damaged or not a file of scripts/tabletop_picks.py: "
                         f"expected the columns {PICKS_COLUMNS}, found {have}")  # fmt: skip
    for number, row in enumerate(rows, start=1):
        problem = _damaged(row)
        if problem:
            raise ValueError(f"{PICKS_FILE} is damaged at row {number}: {problem}; "
                             "run scripts/tabletop_picks.py again")  # fmt: skip
    return PickResults(rows, header)
