"""Quality and domain classifiers: recipes, fastText and scikit-learn backends, model cards.

Public entry points (imported lazily by callers; fastText/sklearn load only when used):
  curate.classify.base.load_classifier(path) -> Classifier     verified load, never unpickles
  curate.classify.train.train_recipe(recipe_yaml, out=None)    train + card (`curate classifier train`)
  curate.classify.evaluate.evaluate_files(model, pos, neg, thresholds, out_dir)   (`... eval`)
"""
