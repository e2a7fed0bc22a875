"""`insider run` flags for shards and Ray: `--ray` with or without its address, and what does not go together."""

from __future__ import annotations

import pytest

from clihelp import run_cli
from insider.cli import LOCAL_RAY, _ray_address_optional


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "e.yaml", "--ray"], ["run", "e.yaml", "--ray", LOCAL_RAY]),
        (["run", "e.yaml", "--ray", "--shards", "3"], ["run", "e.yaml", "--ray", LOCAL_RAY, "--shards", "3"]),
        (["run", "--ray", "e.yaml"], ["run", "--ray", LOCAL_RAY, "e.yaml"]),
        (["run", "e.yaml", "--ray", "ray://head:10001"], ["run", "e.yaml", "--ray", "ray://head:10001"]),
        (["run", "e.yaml", "--ray", "10.0.0.5:6379"], ["run", "e.yaml", "--ray", "10.0.0.5:6379"]),
        (["run", "e.yaml", "--ray", "auto"], ["run", "e.yaml", "--ray", "auto"]),
        (["run", "e.yaml"], ["run", "e.yaml"]),
    ],
)
def test_ray_takes_an_address_or_stands_alone_for_a_local_instance(argv, expected):
    assert _ray_address_optional(argv) == expected


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--shard", "1/2", "--ray"], "--shard and --ray do not go together"),
        (["--shards", "3"], "--shards goes with --ray"),
        (["--ray", "--shards", "0"], "greater than or equal to 1"),
    ],
)
def test_flags_that_do_not_go_together_are_refused_before_anything_runs(capsys, args, fragment):
    done = run_cli(capsys, "run", "configs/quickstart.yaml", *args)
    assert done.code == 2 and fragment in done.err
