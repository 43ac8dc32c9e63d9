"""Learning on the run's own data: selectors that adapt to a target pool without labels from it.

* `ngrams`     hashed word unigram+bigram counts (the feature space of DSIR)
* `dsir`       hashed n-gram language models, target vs raw log-likelihood ratio per document
* `thresholds` threshold rules with a stated criterion (best F1, middle of ties; target precision)
* `selftrain`  iterative self-training: seed scores -> confident pool positives/negatives -> retrain
* `stack`      a small logistic-regression model over keyword density and the scores above
"""
