from __future__ import annotations

from canmore_sim.cli.main import main


def test_inspect_vgg16_prints_layer_table_with_totals(capsys) -> None:
    assert main(["inspect", "--model", "vgg16"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "FLOPs" in lines[2] and "cores" in lines[2]
    header = lines[2].split()
    assert "count" not in header and header[3:6] == ["output", "pool", "neurons"]
    total = lines[-1].split()
    assert total[0] == "total" and total[1] == "284,682" and total[-2] == "316"
    assert "1,769,472" in out  # conv1 FLOPs: 3x3 x 32x32 x 3 x 64 (papers/001)
    assert sum(1 for line in lines if line.split() and line.split()[0].isdigit()) == 16


def test_inspect_default_and_bad_model(capsys, tmp_path) -> None:
    assert main(["inspect"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split()[-2] == "29"
    assert main(["inspect", "--model", str(tmp_path / "none.pt")]) == 3
