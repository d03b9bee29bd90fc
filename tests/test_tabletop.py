"""dlcv.tabletop: the pinhole model both ways and against the renderer's own depth and
segmentation, inverse kinematics reaching targets (and refusing one out of reach), grasps
of every object kind judged by where the objects end up, determinism by seed, and every
bad argument.

Physics is slow next to NumPy, so the simulated tests share one scene where they can and
pick on a few seeded scenes only; ``scripts/tabletop_picks.py`` measures many more."""

import doctest
import importlib.resources
import subprocess
import sys

import numpy as np
import pybullet as p
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlcv import tabletop
from dlcv.tabletop import (
    COLOURS,
    FAILURES,
    GRASP_STAGES,
    KINDS,
    LIFT_HEIGHT,
    MOVED_TOLERANCE,
    PICKS_COLUMNS,
    PICKS_FILE,
    TABLE_TOP,
    WORKSPACE,
    Camera,
    depth_to_points,
    judge,
    load_pick_results,
    make_scene,
    object_positions,
    pick,
    pick_at_true_position,
    pixel_to_world,
    reach,
    render,
    world_to_pixel,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None)
CAMERA = Camera()


@pytest.fixture(scope="module")
def scene():
    """One scene for the tests that only look (render, project) or only move the arm."""
    with make_scene(3) as s:
        yield s


@pytest.fixture(scope="module")
def frame(scene):
    return render(scene, CAMERA)


def test_importing_prints_nothing():
    """pybullet prints a build banner from C on import; the library must not."""
    done = subprocess.run([sys.executable, "-c", "import dlcv.tabletop"], capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    assert done.stdout == "" and done.stderr == "", (done.stdout, done.stderr)


def test_the_docstring_examples():
    assert doctest.testmod(tabletop, optionflags=doctest.ELLIPSIS).failed == 0


# --- Scenes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_scenes_hold_three_to_six_distinct_objects_apart_in_the_workspace(seed):
    with make_scene(seed) as s:
        objects = s.objects
        now = object_positions(s)
    assert 3 <= len(objects) <= 6
    assert len({(o.kind, o.colour) for o in objects}) == len(objects)
    assert all(o.kind in KINDS and o.colour in COLOURS for o in objects)
    (x0, x1), (y0, y1) = WORKSPACE
    for o in objects:
        assert x0 - 0.01 <= o.position[0] <= x1 + 0.01 and y0 - 0.01 <= o.position[1] <= y1 + 0.01
        assert 0.005 < o.position[2] - TABLE_TOP < 0.06, "resting on the table, not in the air"
        np.testing.assert_allclose(now[o.body], o.position, atol=1e-4)  # settled
    centres = np.array([o.position[:2] for o in objects])
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)[
        np.triu_indices(len(objects), 1)
    ]
    assert gaps.min() > 0.06, f"objects closer than 6 cm: {gaps.min():.3f} m"


def test_n_objects_is_obeyed_and_the_seed_draws_it_otherwise():
    for n in (3, 6):
        with make_scene(7, n_objects=n) as s:
            assert len(s.objects) == n
    counts = set()
    for seed in range(12):
        with make_scene(seed) as s:
            counts.add(len(s.objects))
    assert len(counts) >= 3, f"the seed should vary the number of objects, got only {counts}"


def test_same_seed_same_scene_same_images_same_outcome():
    runs = []
    for _ in range(2):
        with make_scene(11) as s:
            target = s.objects[0]
            image = render(s, CAMERA)
            done = pick(s, target.position)
            runs.append((s.objects, image, done.after))
    (objects_a, image_a, after_a), (objects_b, image_b, after_b) = runs
    assert [(o.kind, o.colour, o.body) for o in objects_a] == [
        (o.kind, o.colour, o.body) for o in objects_b
    ]
    for a, b in zip(objects_a, objects_b, strict=True):
        np.testing.assert_array_equal(a.position, b.position)
    for a, b in zip(image_a, image_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert after_a.keys() == after_b.keys()
    for body in after_a:
        np.testing.assert_array_equal(after_a[body], after_b[body])
    with make_scene(12) as other:
        assert [(o.kind, o.colour) for o in other.objects] != [
            (o.kind, o.colour) for o in objects_a
        ] or not np.array_equal(other.objects[0].position, objects_a[0].position)


def test_close_disconnects_and_a_closed_scene_is_refused():
    s = make_scene(0)
    client = s.client
    with s:
        assert p.getConnectionInfo(physicsClientId=client)["isConnected"] == 1
    assert s.closed and p.getConnectionInfo(physicsClientId=client)["isConnected"] == 0
    s.close()  # twice is harmless
    with pytest.raises(ValueError, match="scene is closed"):
        render(s, CAMERA)


# --- The camera -----------------------------------------------------------------------------


def test_render_returns_rgb_metric_depth_and_body_ids(scene, frame):
    h, w = CAMERA.height, CAMERA.width
    assert frame.rgb.shape == (h, w, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (h, w) and frame.depth.dtype == np.float64
    assert frame.segmentation.shape == (h, w)
    ids = set(np.unique(frame.segmentation).tolist())
    expected = {scene.robot, scene.table, *(o.body for o in scene.objects)}
    assert expected <= ids <= expected | {-1}, f"bodies seen {ids}, expected {expected}"
    seen = frame.segmentation >= 0
    assert np.isfinite(frame.depth[seen]).all() and (frame.depth[seen] > CAMERA.near).all()
    assert np.isinf(frame.depth[~seen]).all(), "nothing seen: depth inf"


def test_table_pixels_back_project_onto_the_table_plane(scene, frame):
    """The metric depth (from the renderer's non-linear buffer) and K together put every
    pixel of the table on the plane z = TABLE_TOP; both would have to be wrong in
    exactly compensating ways to pass by accident."""
    points = depth_to_points(CAMERA, frame.depth)
    table = frame.segmentation == scene.table
    assert table.sum() > 0.5 * table.size
    heights = points[table][:, 2] - TABLE_TOP
    assert np.abs(heights).max() < 1e-5, f"table heights off by up to {np.abs(heights).max()} m"
    # The bottom rows see the part of the table nearest the camera.
    rows = np.nonzero(table.any(axis=1))[0]
    column = CAMERA.width // 2
    near_row, far_row = rows.max(), rows.min()
    if table[near_row, column] and table[far_row, column]:
        assert frame.depth[near_row, column] < frame.depth[far_row, column]


@pytest.mark.parametrize(
    "camera",
    [
        Camera(width=128, height=96, up=(0.0, 0.6, 1.0)),  # rolled: depth varies along rows too
        Camera(width=200, height=100, fov=40.0, eye=(0.9, 0.35, 0.6), target=(0.5, 0.0, 0.0)),
    ],
    ids=["rolled-128x96", "oblique-200x100"],
)
def test_the_principal_point_is_measured_not_assumed(scene, camera):
    """The table depth pins cx and cy: with the half-pixel offset of K it agrees with the
    pinhole model to 0.01 mm; with the principal point at the image centre it does not."""
    frame = render(scene, camera)
    table = frame.segmentation == scene.table
    rows, cols = np.nonzero(table)
    heights = pixel_to_world(camera, cols + 0.5, rows + 0.5, frame.depth[table])[:, 2]
    error = np.abs(heights - TABLE_TOP)
    assert error.max() < 1e-5
    # The principal point at the image centre is the same as reading pixel (i, j) at
    # (j + 1, i) with this K: half a pixel to the right and half a pixel up.
    naive = pixel_to_world(camera, cols + 1.0, rows + 0.0, frame.depth[table])[:, 2]
    naive_error = np.abs(naive - TABLE_TOP)
    print(
        f"table height error: {error.mean() * 1e3:.4f} mm, with the image centre as the "
        f"principal point {naive_error.mean() * 1e3:.2f} mm"
    )
    assert naive_error.mean() > 1e-4 and naive_error.mean() > 50 * error.max()


def test_each_objects_mask_back_projects_inside_the_object(scene, frame):
    """The segmentation mask's pixels, back-projected with their depth, land on the object's
    own surface (inside its bounding box), and its true centre projects into its mask."""
    points = depth_to_points(CAMERA, frame.depth)
    for obj in scene.objects:
        mask = frame.segmentation == obj.body
        assert mask.sum() >= 30, f"{obj.kind} barely visible: {mask.sum()} pixels"
        lo, hi = (np.array(a) for a in p.getAABB(obj.body, physicsClientId=scene.client))
        inside = np.all((points[mask] >= lo - 0.003) & (points[mask] <= hi + 0.003), axis=1)
        assert inside.mean() > 0.99, f"{obj.kind}: {inside.mean():.1%} of its pixels inside"
        u, v, depth = world_to_pixel(CAMERA, obj.position)
        rows, cols = np.nonzero(mask)
        assert cols.min() <= u <= cols.max() + 1 and rows.min() <= v <= rows.max() + 1
        centroid = points[mask].mean(axis=0)
        assert np.linalg.norm(centroid[:2] - obj.position[:2]) < 0.03
        assert abs(depth - np.median(frame.depth[mask])) < 0.05


def test_camera_matrices_are_a_rotation_and_the_pinhole_intrinsics():
    R, K = CAMERA.R, CAMERA.K
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    np.testing.assert_allclose(CAMERA.t, -R @ np.array(CAMERA.eye))
    u, v, depth = world_to_pixel(CAMERA, np.array(CAMERA.target))
    assert (u, v) == pytest.approx((K[0, 2], K[1, 2])), "the target is on the optical axis"
    assert depth == pytest.approx(np.linalg.norm(np.subtract(CAMERA.target, CAMERA.eye)))
    f = CAMERA.height / 2 / np.tan(np.radians(CAMERA.fov) / 2)
    np.testing.assert_allclose(np.diag(K), [f, f, 1])


coordinate = st.floats(-1.0, 1.0, allow_nan=False)


@SETTINGS
@given(
    u=st.floats(-50, 210),
    v=st.floats(-50, 170),
    depth=st.floats(0.05, 5.0),
    fov=st.floats(20, 100),
    eye=st.tuples(coordinate, coordinate, st.floats(0.2, 2.0)),
)
def test_pixel_to_world_to_pixel_round_trip(u, v, depth, fov, eye):
    # straight above the target, "up" (+z) is the viewing direction: Camera refuses it
    assume(np.hypot(eye[0] - 0.5, eye[1]) > 0.01)
    camera = Camera(fov=fov, eye=eye, target=(0.5, 0.0, 0.0))
    xyz = pixel_to_world(camera, u, v, depth)
    assert xyz.shape == (3,)
    back = world_to_pixel(camera, xyz)
    np.testing.assert_allclose(back, (u, v, depth), rtol=1e-9, atol=1e-7)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.floats(0.0, 0.9), st.floats(-0.5, 0.5), st.floats(-0.1, 0.4)),
        min_size=1,
        max_size=20,
    )
)
def test_world_to_pixel_to_world_round_trip(points):
    xyz = np.array(points)
    u, v, depth = world_to_pixel(CAMERA, xyz)
    assert u.shape == v.shape == depth.shape == (len(xyz),) and (depth > 0).all()
    np.testing.assert_allclose(pixel_to_world(CAMERA, u, v, depth), xyz, atol=1e-9)


def test_world_to_pixel_is_the_formula_written_out():
    xyz = np.array([0.55, -0.1, 0.02])
    x, y, z = CAMERA.R @ xyz + CAMERA.t
    f, cx, cy = CAMERA.focal, CAMERA.width / 2 + 0.5, CAMERA.height / 2 - 0.5
    np.testing.assert_allclose(world_to_pixel(CAMERA, xyz), (f * x / z + cx, f * y / z + cy, z))


# --- The arm --------------------------------------------------------------------------------


def _gripper(scene) -> np.ndarray:
    state = p.getLinkState(scene.robot, 11, computeForwardKinematics=True,
                           physicsClientId=scene.client)  # fmt: skip
    return np.array(state[4])


def test_reach_puts_the_gripper_at_random_reachable_targets(scene):
    rng = np.random.default_rng(0)
    (x0, x1), (y0, y1) = WORKSPACE
    for _ in range(5):
        target = rng.uniform((x0, y0, 0.12), (x1, y1, 0.35))
        done = reach(scene, target, tolerance=0.01)
        assert done.reachable and done.joints.shape == (7,)
        measured = np.linalg.norm(_gripper(scene) - target)
        assert measured < 0.01 and done.error == pytest.approx(measured, abs=1e-9)


def test_an_unreachable_target_is_reported_and_the_arm_stays(scene):
    before = [s[0] for s in p.getJointStates(scene.robot, range(7), physicsClientId=scene.client)]
    done = reach(scene, [1.6, 0.0, 0.3])
    after = [s[0] for s in p.getJointStates(scene.robot, range(7), physicsClientId=scene.client)]
    assert not done.reachable and done.error > 0.5
    np.testing.assert_array_equal(before, after)


def _first_of_each_kind(seeds):
    """(seed, index) of the first two objects of each kind over ``seeds``."""
    found = {kind: [] for kind in KINDS}
    for seed in seeds:
        with make_scene(seed) as s:
            for i, obj in enumerate(s.objects):
                if len(found[obj.kind]) < 2:
                    found[obj.kind].append((seed, i))
    return found


CASES = _first_of_each_kind(range(6))


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_is_picked_up_at_its_true_position(kind):
    """Perfect perception, the upper bound: grasp at the object's true centre. Whether it
    comes along is physics; whether it counts is judge's reading of the positions."""
    assert CASES[kind], f"no {kind} in the first scenes"
    for seed, index in CASES[kind]:
        with make_scene(seed) as s:
            target = s.objects[index]
            done = pick(s, target.position)
            verdict = judge(s, done.before, done.after, target.body, done.reachable)
        assert verdict.success, (seed, target.kind, target.colour, verdict)
        assert verdict.lift >= LIFT_HEIGHT and verdict.others_moved <= MOVED_TOLERANCE


def test_pick_keeps_a_strip_of_frames_and_misses_where_nothing_is():
    with make_scene(5) as s:
        centres = np.array([o.position[:2] for o in s.objects])
        grid = [(x, y) for x in np.linspace(0.36, 0.66, 7) for y in np.linspace(-0.24, 0.24, 9)]
        empty = max(grid, key=lambda xy: np.linalg.norm(centres - xy, axis=1).min())
        target = s.objects[0]
        done = pick(s, [*empty, 0.02], camera=CAMERA)
        verdict = judge(s, done.before, done.after, target.body, done.reachable)
    assert done.reachable and done.stages == list(GRASP_STAGES)
    assert len(done.frames) == len(GRASP_STAGES)
    assert all(f.shape == (CAMERA.height, CAMERA.width, 3) and f.dtype == np.uint8
               for f in done.frames)  # fmt: skip
    changed = [
        np.abs(a.astype(int) - b).sum() > 0
        for a, b in zip(done.frames[:-1], done.frames[1:], strict=True)
    ]
    assert all(changed[:4]), "the arm moves between the stages"
    assert not verdict.success and verdict.reason == "missed grasp"


def test_an_unreachable_pick_does_not_move_and_is_judged_so():
    with make_scene(5) as s:
        target = s.objects[0]
        done = pick(s, [1.6, 0.0, 0.02])
        verdict = judge(s, done.before, done.after, target.body, done.reachable)
    assert not done.reachable
    assert not verdict.success and verdict.reason == "unreachable"
    assert verdict.others_moved < 1e-6 and abs(verdict.lift) < 1e-6


# --- The judge, on positions made by hand ---------------------------------------------------


def _positions(scene, **moves):
    """object_positions with some bodies moved by hand: moves maps 'b<id>' to (dx, dy, dz)."""
    now = object_positions(scene)
    for name, delta in moves.items():
        now[int(name[1:])] = now[int(name[1:])] + np.array(delta)
    return now


def test_judge_reads_success_and_each_failure_off_the_positions(scene):
    a, b = scene.objects[0].body, scene.objects[1].body
    before = object_positions(scene)
    cases = {
        "success": ({f"b{a}": (0, 0, 0.15)}, True, ""),
        "just enough": ({f"b{a}": (0.01, 0, LIFT_HEIGHT + 1e-9)}, True, ""),
        "missed": ({f"b{a}": (0.03, 0, 0.0)}, False, "missed grasp"),
        "not high enough": ({f"b{a}": (0, 0, LIFT_HEIGHT - 0.001)}, False, "missed grasp"),
        "wrong object": ({f"b{b}": (0, 0, 0.2)}, False, "wrong object"),
        "knocked": ({f"b{a}": (0, 0, 0.2), f"b{b}": (0.03, 0, 0)}, False, "other object moved"),
        "nudged": ({f"b{a}": (0, 0, 0.2), f"b{b}": (0.015, 0, 0)}, True, ""),
    }
    for name, (moves, success, reason) in cases.items():
        verdict = judge(scene, before, _positions(scene, **moves), a)
        assert (verdict.success, verdict.reason) == (success, reason), name
    assert set(FAILURES) == {"unreachable", "missed grasp", "wrong object", "other object moved"}


def test_judge_never_takes_the_planners_word(scene):
    before = object_positions(scene)
    a = scene.objects[0].body
    lifted = _positions(scene, **{f"b{a}": (0, 0, 0.2)})
    assert judge(scene, before, lifted, a, reachable=False).success, "the objects decide"
    verdict = judge(scene, before, before, a, reachable=True)
    assert not verdict.success and verdict.reason == "missed grasp"
    verdict = judge(scene, before, before, a, reachable=False)
    assert not verdict.success and verdict.reason == "unreachable"


# --- Bad arguments --------------------------------------------------------------------------


def _good(s):
    return object_positions(s)


def _body(s):
    return s.objects[0].body


BAD = {  # name: (call on the shared scene, error, what the message says)
    "seed float": (lambda s: make_scene(1.5), TypeError, "seed must be an integer"),
    "seed negative": (lambda s: make_scene(-1), ValueError, "seed must be at least 0"),
    "n_objects few": (lambda s: make_scene(0, 2), ValueError, "n_objects must be at least 3"),
    "n_objects many": (lambda s: make_scene(0, 7), ValueError, "n_objects must be at most 6"),
    "n_objects float": (lambda s: make_scene(0, 4.0), TypeError, "n_objects must be an integer"),
    "width": (lambda s: Camera(width=4), ValueError, "width must be at least 8"),
    "height float": (lambda s: Camera(height=96.0), TypeError, "height must be an integer"),
    "fov zero": (lambda s: Camera(fov=0), ValueError, "fov must be positive"),
    "fov 180": (lambda s: Camera(fov=180), ValueError, "fov must be below 180"),
    "fov text": (lambda s: Camera(fov="50"), TypeError, "fov must be a number"),
    "near far": (lambda s: Camera(near=2.0, far=1.0), ValueError, "near must be below far"),
    "eye shape": (lambda s: Camera(eye=(1, 2)), ValueError, r"eye must have shape \(3,\)"),
    "eye nan": (lambda s: Camera(eye=(1, np.nan, 1)), ValueError, "eye must be finite"),
    "eye target": (lambda s: Camera(eye=(0.5, 0, 0)), ValueError, "eye and target must differ"),
    "up parallel": (lambda s: Camera(eye=(0.5, 0, 1)), ValueError, "up .* must not be parallel"),
    "render scene": (lambda s: render("scene", CAMERA), TypeError, "scene must be a Scene"),
    "render camera": (lambda s: render(s, (160, 120)), TypeError, "camera must be a Camera"),
    "w2p camera": (lambda s: world_to_pixel(None, [0, 0, 0]), TypeError, "camera must be"),
    "w2p shape": (lambda s: world_to_pixel(CAMERA, [[0, 0]]), ValueError, "xyz must have shape"),
    "w2p text": (lambda s: world_to_pixel(CAMERA, ["a", "b", "c"]), TypeError, "xyz must hold"),
    "p2w depth": (lambda s: pixel_to_world(CAMERA, 1, 2, 0.0), ValueError, "depth must be pos"),
    "p2w inf": (lambda s: pixel_to_world(CAMERA, 1, 2, np.inf), ValueError, "depth must be fin"),
    "p2w u": (lambda s: pixel_to_world(CAMERA, "1", 2, 1.0), TypeError, "u must hold real"),
    "p2w broadcast": (
        lambda s: pixel_to_world(CAMERA, [1, 2], [1, 2, 3], 1.0),
        ValueError,
        "u, v and depth must broadcast together",
    ),  # fmt: skip
    "d2p shape": (
        lambda s: depth_to_points(CAMERA, np.ones((10, 10))),
        ValueError,
        "depth must have the camera's shape",
    ),  # fmt: skip
    "reach xyz": (lambda s: reach(s, [0.5, 0]), ValueError, r"xyz must have shape \(3,\)"),
    "reach nan": (lambda s: reach(s, [0.5, np.nan, 0]), ValueError, "xyz must be finite"),
    "reach tolerance": (
        lambda s: reach(s, [0.5, 0, 0.2], tolerance=0),
        ValueError,
        r"tolerance must be in \(0, 0.1\]",
    ),  # fmt: skip
    "reach tolerance text": (
        lambda s: reach(s, [0.5, 0, 0.2], tolerance="1 cm"),
        TypeError,
        "tolerance must be a number",
    ),  # fmt: skip
    "reach yaw": (lambda s: reach(s, [0.5, 0, 0.2], yaw=None), TypeError, "yaw must be"),
    "reach scene": (lambda s: reach(object(), [0.5, 0, 0.2]), TypeError, "scene must be"),
    "pick camera": (
        lambda s: pick(s, [0.5, 0, 0.2], camera="top"),
        TypeError,
        "camera must be a Camera",
    ),  # fmt: skip
    "pick xyz": (lambda s: pick(s, "here"), TypeError, "xyz must hold real numbers"),
    "judge before": (
        lambda s: judge(s, [], _good(s), _body(s)),
        TypeError,
        "before must be a dict",
    ),  # fmt: skip
    "judge after": (
        lambda s: judge(s, _good(s), {_body(s): np.zeros(3)}, _body(s)),
        ValueError,
        "after must hold every object",
    ),  # fmt: skip
    "judge point": (
        lambda s: judge(s, _good(s), {**_good(s), _body(s): [0, 0]}, _body(s)),
        ValueError,
        r"after\[\d+\] must have shape",
    ),  # fmt: skip
    "judge target": (
        lambda s: judge(s, _good(s), _good(s), s.robot),
        ValueError,
        "body must be one of this scene's objects",
    ),  # fmt: skip
    "judge target text": (
        lambda s: judge(s, _good(s), _good(s), "mug"),
        ValueError,
        "body must be one of this scene's objects",
    ),  # fmt: skip
    "judge reachable": (
        lambda s: judge(s, _good(s), _good(s), _body(s), reachable="yes"),
        TypeError,
        "reachable must be True or False",
    ),  # fmt: skip
    "true index": (
        lambda s: pick_at_true_position(0, 6),
        ValueError,
        "index must be below the scene's 6 objects",
    ),  # fmt: skip
    "true index float": (
        lambda s: pick_at_true_position(0, 1.0),
        TypeError,
        "index must be an integer",
    ),  # fmt: skip
    "true offset": (
        lambda s: pick_at_true_position(0, 1, -0.01),
        ValueError,
        r"offset must be in \[0, 0.1\]",
    ),  # fmt: skip
    "true offset text": (
        lambda s: pick_at_true_position(0, 1, "1 cm"),
        TypeError,
        "offset must be a number",
    ),  # fmt: skip
}


@pytest.mark.parametrize(("call", "error", "match"), BAD.values(), ids=BAD)
def test_every_bad_argument_is_refused_by_name(scene, call, error, match):
    with pytest.raises(error, match=match):
        call(scene)


# --- The upper bound's table ----------------------------------------------------------------

SHIPPED = importlib.resources.files("dlcv") / "assets" / PICKS_FILE


def _write(folder, rows, header=("command: test",)):
    from dlcv.grid import write_csv

    write_csv(folder / PICKS_FILE, rows, PICKS_COLUMNS, header)
    return folder


def test_a_row_is_a_judged_pick_and_the_file_reads_back(tmp_path):
    row = pick_at_true_position(1, 0)
    assert list(row) == PICKS_COLUMNS and row["seed"] == 1 and row["index"] == 0
    assert row["success"] == 1 and row["reason"] == "" and row["lift"] >= LIFT_HEIGHT
    results = load_pick_results(_write(tmp_path, [row]))
    assert results.header == ["command: test"]
    assert results.success_rate() == 1.0 and results.success_rate(0.0, row["kind"]) == 1.0
    assert results.failures() == dict.fromkeys(FAILURES, 0) and results.offsets() == [0.0]
    with pytest.raises(ValueError, match="kind must be one of"):
        results.success_rate(0.0, "teapot")
    with pytest.raises(ValueError, match=r"offset must be one of \[0.0\]"):
        results.failures(0.05)


def test_an_offset_grasp_moves_the_gripper_off_the_centre_and_can_fail():
    """5 cm off the centre of a mug about 5 cm wide, the fingers close on air."""
    far = pick_at_true_position(1, 0, offset=0.05)
    assert far["offset"] == 0.05 and far["success"] == 0 and far["reason"] == "missed grasp"
    near = pick_at_true_position(1, 0, offset=0.01)
    assert near["success"] == 1 and near["direction"] == far["direction"]


GOOD_ROW = {"offset": 0.0, "seed": 0, "n_objects": 4, "index": 1, "kind": "mug", "colour": "red",
            "x": 0.5, "y": 0.0, "z": 0.03, "direction": 0.0, "reachable": 1, "success": 0,
            "reason": "missed grasp", "lift": 0.0, "others_moved": 0.0, "seconds": 0.4}  # fmt: skip
DAMAGED = {
    "kind": ({"kind": "teapot"}, "row 1: kind = 'teapot'"),
    "colour": ({"colour": "mauve"}, "row 1: colour = 'mauve'"),
    "reason": ({"reason": "bad luck"}, "row 1: reason = 'bad luck'"),
    "success with a reason": ({"success": 1}, "row 1: reason = 'missed grasp'"),
    "failure without one": ({"reason": ""}, "row 1: reason = ''"),
    "text number": ({"lift": "high"}, "row 1: lift = 'high'"),
    "not finite": ({"x": float("nan")}, "row 1: x = nan"),
    "index": ({"index": 4}, "row 1: index = 4"),
    "success 2": ({"success": 2, "reason": ""}, "row 1: success = 2"),
    "offset": ({"offset": 0.5}, "row 1: offset = 0.5"),
}


@pytest.mark.parametrize(("change", "match"), DAMAGED.values(), ids=DAMAGED)
def test_a_damaged_table_is_refused_by_row_and_column(tmp_path, change, match):
    load_pick_results(_write(tmp_path, [GOOD_ROW]))  # the good row reads
    with pytest.raises(ValueError, match=match):
        load_pick_results(_write(tmp_path, [{**GOOD_ROW, **change}]))


def test_a_missing_or_emptied_table_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="scripts/tabletop_picks.py"):
        load_pick_results(tmp_path)
    (tmp_path / PICKS_FILE).write_text("seed,kind\n0,mug\n")
    with pytest.raises(ValueError, match="damaged or not a file of scripts/tabletop_picks.py"):
        load_pick_results(tmp_path)
    _write(tmp_path, [])
    with pytest.raises(ValueError, match="damaged"):
        load_pick_results(tmp_path)


@pytest.mark.skipif(not SHIPPED.is_file(), reason="scripts/tabletop_picks.py has not run yet")
def test_the_shipped_table_covers_100_scenes_and_a_row_reproduces():
    results = load_pick_results()
    assert results.offsets()[0] == 0.0 and len(results.offsets()) >= 2
    for offset in results.offsets():
        seeds = sorted({r["seed"] for r in results.rows if r["offset"] == offset})
        assert seeds == list(range(len(seeds))) and len(seeds) >= (100 if offset == 0 else 20)
    assert any("library: dlcv at commit" in line for line in results.header)
    offset = results.offsets()[-1]
    row = next(r for r in results.rows if (r["seed"], r["index"], r["offset"]) == (7, 1, offset))
    again = pick_at_true_position(7, 1, offset)
    assert {k: v for k, v in again.items() if k != "seconds"} == {
        k: v for k, v in row.items() if k != "seconds"
    }
