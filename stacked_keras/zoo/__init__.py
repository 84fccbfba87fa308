"""The model zoo: named presets, specs, the stacked seq2seq, local datasets.

- Presets: `list()` (name, task, description), `build(name, **overrides)`,
  `spec(name)` and `preset_data(name)`, the local data each preset is sized
  for.
- Specs: `build_from_spec(spec)` and `spec_of(model)` turn JSON-able dicts
  into models and back (`normalize_spec`, `save_spec`, `load_spec`).
- `Seq2Seq` and `decode`: the stacked encoder-decoder with attention
  (module `stacked_keras.zoo.seq2seq`).
- `datasets`: small generators with fixed seeds, and the IMDB loader.

Importing the zoo imports NumPy, not Keras: Keras loads when a model is
built.

Example:

```python
from stacked_keras import zoo

print(zoo.list())
model = zoo.build("sentiment-deep-lstm", units=[16, 16, 16])
(x_train, y_train), (x_val, y_val) = zoo.preset_data("sentiment-deep-lstm", n=500)
model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=2, verbose=0)
```
"""

from __future__ import annotations

from stacked_keras.zoo import datasets
from stacked_keras.zoo.presets import (
    PRESETS,
    Preset,
    PresetInfo,
    PresetList,
    build,
    list_presets,
    preset_data,
    preset_spec,
)
from stacked_keras.zoo.seq2seq import Seq2Seq, decode
from stacked_keras.zoo.specs import (
    SPEC_FORMAT,
    build_from_spec,
    load_spec,
    normalize_spec,
    save_spec,
    spec_of,
)

# `zoo.list()` and `zoo.spec(name)` read well; inside this package the
# builtins stay available as `builtins.list` (only this module's globals are
# shadowed, and nothing here calls `list` after this line).
list = list_presets  # noqa: A001
spec = preset_spec

__all__ = [
    "PRESETS",
    "SPEC_FORMAT",
    "Preset",
    "PresetInfo",
    "PresetList",
    "Seq2Seq",
    "build",
    "build_from_spec",
    "datasets",
    "decode",
    "list",
    "list_presets",
    "load_spec",
    "normalize_spec",
    "preset_data",
    "preset_spec",
    "save_spec",
    "spec",
    "spec_of",
]
