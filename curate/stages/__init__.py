"""Pipeline stages: the project's own, registered in the order a run executes them.

Adding a stage is one module with a `Stage` subclass plus one `register_stage(...)` line (here for
the project's own, anywhere importable for an extension). See docs/internals.md.
"""

from curate.stages.base import Stage, register_stage

register_stage("annotate", "curate.stages.annotate:AnnotateStage", config="curate.stages.sections:annotate_model")
register_stage("dedup", "curate.dedup.stage:DedupStage", config="curate.dedup.config:DedupConfig", optional=True,
               requires=("dedup",))
register_stage("adapt", "curate.adapt.stage:AdaptStage", config="curate.adapt.config:AdaptConfig", optional=True,
               requires=("adapt",), after="dedup")
register_stage("decontam", "curate.decontam.stage:DecontamStage", config="curate.decontam.config:DecontamConfig", optional=True,
               requires=("decontam",))
register_stage("select", "curate.stages.select:SelectStage", config="curate.stages.sections:SelectConfig")
register_stage("tokenize", "curate.tokenize.stage:TokenizeStage", config="curate.tokenize.config:TokenizerConfig",
               section="tokenizer", optional=True, requires=("tokenizer",))
register_stage("mix", "curate.mix.stage:MixStage", config="curate.mix.config:MixConfig", optional=True,
               requires=("tokenizer", "mix"))

__all__ = ["Stage", "register_stage"]
