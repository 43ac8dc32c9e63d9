"""`curate ablate`: mixture and selection-threshold sweeps scored by proxy-model held-out loss."""

from curate.train.ablate.runs import (Arm, Constraint, Objective, Parent, arm_mix, arm_select, choose_best, equal_budget,
                                      load_config, run_ablation)

__all__ = ["Arm", "Constraint", "Objective", "Parent", "arm_mix", "arm_select", "choose_best", "equal_budget", "load_config",
           "run_ablation"]
