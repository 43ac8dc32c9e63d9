"""curate: data curation for domain LLM pre-training.

Raw corpora -> signals (heuristics, language, keywords, classifiers, dedup keys) -> selection ->
dedup -> token-exact mixing -> Megatron shards -> proxy training and mixture ablations.
"""

__version__ = "0.1.0"
