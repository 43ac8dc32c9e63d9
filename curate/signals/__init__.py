"""Annotate signals. Each module defines one `Signal` subclass registered with `@register_signal`;
importing this package registers the project's own, in the order annotate runs them."""

from curate.signals import heuristics, langid, keywords, pii, classifier, minhash  # noqa: F401  (registration)
