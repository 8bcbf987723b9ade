"""Solver names: one parser for labels, lines of the test-time view, tooltips."""

from benchmark_mri.report.names import join_name, short_names, split_name, without


def test_split_and_join_keep_list_values_whole():
    assert split_name("rim[a=1,b=[2, 3],c=x]") == ("rim", [("a", "1"), ("b", "[2, 3]"),
                                                           ("c", "x")])
    assert split_name("zero_filled") == ("zero_filled", [])
    assert join_name("rim", [("a", "1"), ("b", "[2, 3]")]) == "rim[a=1,b=[2, 3]]"
    assert join_name("rim", []) == "rim"


def test_without_removes_a_parameter_not_a_piece_of_a_list():
    assert without("a[b=[2, 3],test_iterations=3,c=x]", {"test_iterations"}) \
        == "a[b=[2, 3],c=x]"
    assert without("a[test_iterations=3]", {"test_iterations"}) == "a"
    assert without("zero_filled", {"test_iterations"}) == "zero_filled"


def test_short_names_keep_only_the_parameters_that_differ():
    names = ["zero_filled", "ista_l1[lmbda=0.001,restart=False]",
             "xpdnet[dc=True,lr=0.002,n_iter=None]",
             "xpdnet[dc=False,lr=0.002,n_iter=None]"]
    assert short_names(names) == {
        "zero_filled": "zero_filled", "ista_l1[lmbda=0.001,restart=False]": "ista_l1",
        "xpdnet[dc=True,lr=0.002,n_iter=None]": "xpdnet[dc=True]",
        "xpdnet[dc=False,lr=0.002,n_iter=None]": "xpdnet[dc=False]"}
    # Names it cannot tell apart are kept whole.
    assert short_names(["a[x", "a[y"]) == {"a[x": "a[x", "a[y": "a[y"}
