"""Quality and domain classifiers: recipes, fastText and scikit-learn backends, model cards."""
