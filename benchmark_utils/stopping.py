"""Stopping criteria: fixed-budget training (learned solvers) and cost
progress that records a divergence (iterative solvers)."""

from benchopt.stopping_criterion import NoCriterion, SufficientProgressCriterion


class FixedBudget(NoCriterion):
    """Never stops a run: neither for lack of progress (like NoCriterion) nor
    at benchopt's --timeout (100 s by default, which would cut every CPU
    training short and leave its weights uncached). The solver's own budget
    (n_epochs) ends the run; --max-runs still applies."""

    def get_runner_instance(self, *args, **kwargs):
        instance = super().get_runner_instance(*args, **kwargs)
        instance._deadline = None
        return instance


class SufficientProgressOrDiverged(SufficientProgressCriterion):
    """benchopt's SufficientProgressCriterion, except at a point the solver
    flags `diverged` = 1 (with NaN cost and images): that point ends the run
    as done, a recorded result. benchopt's own check would call the NaN
    cost 'diverged', a failure status: the run's rows would be dropped from
    the result file and nothing would say what diverged."""

    def should_stop(self, stop_val, objective_list):
        if objective_list and objective_list[-1].get("objective_diverged") == 1:
            return True, "done", stop_val
        return super().should_stop(stop_val, objective_list)
