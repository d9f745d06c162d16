"""The tutorial's examples do what the tutorial says they do."""
import os
import pstats
import subprocess
import sys

import pytest

from conftest import EXAMPLES

TIME = os.path.join(EXAMPLES, "time")


def test_linalg_solution_builds_identical_matrices():
    np = pytest.importorskip("numpy")
    pytest.importorskip("scipy")
    sys.path.insert(0, TIME)
    try:
        import linalg
        import linalg_solution
    finally:
        sys.path.remove(TIME)
    slow_a, slow_b = linalg.build_matrices(size=40)
    fast_a, fast_b = linalg.build_matrices(size=40, sparsify=linalg_solution.make_sparse)
    assert np.array_equal(slow_a, fast_a) and np.array_equal(slow_b, fast_b)
    assert np.count_nonzero(slow_a) == 40 * 40 - int(linalg.SPARSITY * 40 * 40)


def test_linalg_make_sparse_tops_the_tottime_table(cli, tmp_path):
    pytest.importorskip("numpy")
    pytest.importorskip("scipy")
    r = cli("func", "-s", "tottime", "-o", "l.prof", os.path.join(TIME, "linalg.py"))
    assert r.returncode == 0, r.stderr
    st = pstats.Stats(str(tmp_path / "l.prof"))
    st.sort_stats("tottime")
    top = st.fcn_list[0]
    assert top[2] == "make_sparse"
    assert st.stats[top][:2] == (2, 2)


def test_memory_examples_run_plain(tmp_path):
    for name in ("mem.py",):
        r = subprocess.run([sys.executable, os.path.join(EXAMPLES, "memory", name)],
                           capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "150 lists alive"
