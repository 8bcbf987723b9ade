"""Which final rows form a line of the test-time view (report/inner_iterations.py)."""

import numpy as np
import pandas as pd

from benchmark_mri.report.inner_iterations import sweep_lines, sweep_parameters


def _final(*rows):
    """Final rows from (solver_name, inference iterations, trained count)."""
    return pd.DataFrame([
        {"solver_name": name, "idx_rep": 0, "objective_inference_iterations": used,
         "objective_train_iterations": trained, "objective_psnr": 30.0 + k}
        for k, (name, used, trained) in enumerate(rows)])


def _lines(final):
    lines = sweep_lines(final)
    return {line: (sorted(rows["x"]), sorted(set(rows["trained"])))
            for line, rows in lines.groupby("line")}


def test_default_parameter_none_still_gets_its_training_count():
    # XPDNet at its default n_iter=None: the count comes from the record.
    final = _final(("xpdnet[n_iter=None,test_iterations=None]", 3, 3),
                   ("xpdnet[n_iter=None,test_iterations=1]", 1, 3),
                   ("zero_filled", np.nan, np.nan))
    assert sweep_parameters(final.iloc[:2]) == {"xpdnet": {"test_iterations"}}
    assert _lines(final) == {"xpdnet[n_iter=None]": ([1, 3], [3])}


def test_a_grid_of_trained_counts_gives_one_line_each():
    final = _final(("x[n_iter=3,t=None]", 3, 3), ("x[n_iter=3,t=2]", 2, 3),
                   ("x[n_iter=5,t=None]", 5, 5), ("x[n_iter=5,t=2]", 2, 5))
    assert sweep_parameters(final) == {"x": {"t"}}  # n_iter changes the training
    assert _lines(final) == {"x[n_iter=3]": ([2, 3], [3]),
                             "x[n_iter=5]": ([2, 5], [5])}


def test_no_line_without_a_test_time_sweep():
    # lr changes nothing the rule reads; n_iter changes the training count.
    assert _lines(_final(("x[lr=1,t=None]", 3, 3), ("x[lr=2,t=None]", 3, 3))) == {}
    assert _lines(_final(("x[n_iter=3]", 3, 3), ("x[n_iter=5]", 5, 5))) == {}
    assert _lines(_final(("x[t=None]", 3, 3))) == {}
    assert sweep_lines(pd.DataFrame({"solver_name": ["zero_filled"]})).empty


def test_values_giving_the_same_count_are_one_point():
    # A DEQ trained with 20 iterations: test_iterations None and 20 are x = 20.
    final = _final(("deq[t=None]", 20, 20), ("deq[t=20]", 20, 20), ("deq[t=5]", 5, 20))
    assert _lines(final) == {"deq": ([5, 20, 20], [20])}


def test_list_values_stay_whole_in_the_line_name():
    final = _final(("a[b=[2, 3],t=3,c=x]", 3, 4), ("a[b=[2, 3],t=None,c=x]", 4, 4))
    assert _lines(final) == {"a[b=[2, 3],c=x]": ([3, 4], [4])}
