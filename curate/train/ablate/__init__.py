"""`curate ablate`: mixture and selection-threshold sweeps scored by proxy-model held-out loss.

`config` (the ablation YAML), `runs` (re-select, re-mix, train each arm), `report` (aggregate,
best arm, CSV/Markdown/plot).
"""

from curate.train.ablate.config import AblationConfig, Arm, Constraint, Objective, load_ablation
from curate.train.ablate.report import choose_best
from curate.train.ablate.runs import Parent, arm_mix, arm_select, equal_budget, run_ablation

__all__ = ["AblationConfig", "Arm", "Constraint", "Objective", "Parent", "arm_mix", "arm_select", "choose_best", "equal_budget",
           "load_ablation", "run_ablation"]
