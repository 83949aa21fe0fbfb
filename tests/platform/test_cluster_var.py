"""`make run-cluster` empties CLUSTER_VAR at start: only a directory it made itself (its
marker is there) or an empty one, never someone else's data (CLUSTER_VAR=var)."""

from __future__ import annotations

import pytest

from platformrun.cluster import VAR_MARKER, empty_cluster_var


def test_a_new_or_empty_directory_is_made_and_marked(tmp_path):
    for var in (tmp_path / "new" / "cluster", tmp_path / "empty"):
        if var.name == "empty":
            var.mkdir()
        empty_cluster_var(var)
        assert [p.name for p in var.iterdir()] == [VAR_MARKER]


def test_a_previous_runs_directory_is_emptied(tmp_path):
    var = tmp_path / "cluster"
    empty_cluster_var(var)
    (var / "log").mkdir()
    (var / "log" / "gateway-a.log").write_text("old run")
    empty_cluster_var(var)
    assert [p.name for p in var.iterdir()] == [VAR_MARKER]


def test_a_directory_with_data_but_no_marker_is_refused_and_kept(tmp_path):
    var = tmp_path / "var"
    (var / "ledger").mkdir(parents=True)
    (var / "ledger" / "entries.db").write_text("make run's ledger")
    with pytest.raises(SystemExit, match="not deleting"):
        empty_cluster_var(var)
    assert (var / "ledger" / "entries.db").read_text() == "make run's ledger"
