"""The inference services file: the built-in one loads; bad input is one line naming the
file, the field and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpufleet.errors import ConfigError
from gpufleet.fleet.loader import load_fleet
from gpufleet.tenancy.loader import resolve_tenancy
from gpufleet.tenancy.services import with_services
from gpufleet.workload.service_file import load_services, resolve_services
from strategies import make_fleet

FLEET = make_fleet(("c", "H100", 16, 8, 8, 2))

GOOD = """\
services:
  - name: chat
    models: [H100]
    gpus_per_replica: 4
    replicas: {min: 1, max: 3}
    demand: {peak: 3000, trough: 1000, peak_hour: 14, weekend: 0.5}
    tokens_per_s: {H100: 1000}
    objective: {kind: latency, target: 0.7}
    autoscale: {interval: 5m, down_delay: 30m}
"""


def load(tmp_path: Path, text: str) -> object:
    p = tmp_path / "svc.yaml"
    p.write_text(text)
    return load_services(p, FLEET)


def test_good_file(tmp_path: Path) -> None:
    ss = load(tmp_path, GOOD)
    s = ss.services[0]  # type: ignore[attr-defined]
    assert (s.gpus, s.min_replicas, s.max_replicas) == (4, 1, 3)
    assert (s.autoscale.interval, s.autoscale.down_delay) == (300.0, 1800.0)
    assert s.objective.target == 0.7 and s.demand.weekend == 0.5


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("models: [H100]", "models: [H900]", "services[0].models[0] (line 3): unknown GPU model"),
        (
            "{min: 1, max: 3}",
            "{min: 4, max: 3}",
            "services[0].replicas.min (line 5): min 4 > max 3",
        ),
        ("gpus_per_replica: 4", "gpus_per_replica: 0", "services[0].gpus_per_replica (line 4)"),
        ("gpus_per_replica: 4", "gpus_per_replica: 16", "no cluster of ['H100']"),
        ("peak: 3000", "peak: 10", "services[0].demand.trough (line 6): trough 1000.0 > peak"),
        ("peak_hour: 14", "peak_hour: 24", "services[0].demand.peak_hour (line 6)"),
        (
            "{H100: 1000}",
            "{H100: 0}",
            "services[0].tokens_per_s.H100 (line 7): expected tokens/s > 0",
        ),
        ("{H100: 1000}", "{B200: 1000}", "services[0].tokens_per_s (line 7): no tokens/s given"),
        ("kind: latency", "kind: fast", "services[0].objective.kind (line 8)"),
        ("target: 0.7", "target: 1.5", "services[0].objective.target (line 8)"),
        ("interval: 5m", "interval: soon", "services[0].autoscale.interval (line 9)"),
        (
            "    objective:",
            "    colour: red\n    objective:",
            "services[0].colour (line 8): unknown field",
        ),
    ],
)
def test_bad_input_names_file_field_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(ConfigError) as e:
        load(tmp_path, GOOD.replace(old, new))
    msg = str(e.value)
    assert msg.startswith(str(tmp_path / "svc.yaml")) and "\n" not in msg
    assert expected in msg


def test_duplicate_service(tmp_path: Path) -> None:
    text = GOOD + GOOD.split("services:\n")[1]
    with pytest.raises(ConfigError, match=r"services\[1\].name \(line 10\): duplicate service"):
        load(tmp_path, text)


def test_missing_file_and_off() -> None:
    assert resolve_services("off", "korea-2025", FLEET) is None
    with pytest.raises(ConfigError, match="no such inference services file"):
        resolve_services("nope.yaml", "korea-2025", FLEET)
    with pytest.raises(ConfigError, match="ships no services file"):
        resolve_services("auto", "two-nodes", FLEET)


def test_builtin_korea_services_fit_the_tree() -> None:
    """The built-in services load, and carving their GPUs keeps every guarantee >= 0."""
    fl = load_fleet("korea-2025")
    ss = resolve_services("auto", "korea-2025", fl)
    assert ss is not None
    tree = resolve_tenancy("auto", "korea-2025", fl)
    assert tree is not None
    t2 = with_services(tree, ss, fl)
    by = {n.name: n for n in t2.nodes}
    assert by["inference"].guarantee == {"GB300": 2048, "B200": 512}
    assert by["naver-cloud"].guarantee["any"] == by_any(tree, "naver-cloud") - 2048
    assert by["naver-chat"].parent == by["inference"].id
    assert all(n.id == i for i, n in enumerate(t2.nodes))


def by_any(tree: object, name: str) -> int:
    node = tree.node(name)  # type: ignore[attr-defined]
    return int(node.guarantee["any"])


def test_carving_more_than_the_guarantee_fails(tmp_path: Path) -> None:
    from gpufleet.tenancy.model import Node, Tenancy

    tree = Tenancy.build(
        [Node(0, "root", -1, children=(1,)), Node(1, "b", 0, guarantee={"H100": 8})]
    )
    ss = load(tmp_path, GOOD.replace("    objective:", "    carve_from: b\n    objective:"))
    with pytest.raises(ConfigError, match="carve_from 'b' guarantees 8 H100 GPUs left"):
        with_services(tree, ss, FLEET)  # type: ignore[arg-type]
