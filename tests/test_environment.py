"""The one-line environment check at the top of every chapter."""

import pytest

from dlcv.environment import check_environment, missing_modules


def test_all_present(capsys):
    assert check_environment(["numpy", "scipy"]) is None
    assert capsys.readouterr().out == "✅ Environment ready: dlcv and numpy, scipy import.\n"
    assert missing_modules(["numpy", "scipy"]) == []


def test_missing_named_with_install_command(capsys):
    check_environment(["numpy", "skimage_not_here", "sklearn_nope"])
    out = capsys.readouterr().out
    assert out.startswith("❌ Missing: skimage_not_here, sklearn_nope.")
    assert "pip install -r requirements.txt" in out
    assert "pip install skimage_not_here sklearn_nope" in out
    assert out.count("\n") == 1


def test_install_hint_uses_package_names(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "skimage", None)  # makes `import skimage` fail
    check_environment(["skimage"])
    assert "pip install scikit-image" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["numpy", ["numpy", 3], [""]])
def test_bad_argument(bad):
    with pytest.raises(TypeError, match="modules must"):
        missing_modules(bad)
    with pytest.raises(TypeError, match="modules must"):
        check_environment(bad)


def test_colab_report_names_what_was_kept_and_catches_a_changed_package(tmp_path, capsys):
    from dlcv.environment import colab_report, installed_versions

    now = installed_versions()
    before = tmp_path / "before.txt"
    kept = {n: v for n, v in now.items() if n not in ("dlcv", "tqdm")}
    before.write_text("".join(f"{n}=={v}\n" for n, v in kept.items()) + "# a comment\n")
    assert colab_report(before) is True
    line = capsys.readouterr().out.strip()
    assert line.startswith("✅ Installed the course library (dlcv ") and "1 package(s)" in line
    assert f"numpy {now['numpy']}" in line and "(tqdm)" in line
    before.write_text(f"numpy==0.0.1\nlazy_loader=={now.get('lazy-loader', '0')}\n")
    assert colab_report(before) is False
    assert f"numpy 0.0.1 -> {now['numpy']}" in capsys.readouterr().out
