"""The builders, the zoo, the linter on live models and training work on the JAX backend.

The pytest process runs on TensorFlow (conftest.py), and Keras picks its
backend once, at import; so the JAX part runs in one fresh interpreter,
`tests/run_backend_checks.py` with `KERAS_BACKEND=jax` and two host devices,
started in the background when collection ends (`backend_checks` in
tests/background.py). Each test here reads one check of its report.
"""

import pytest

# Every check tests/run_backend_checks.py runs; a check renamed or dropped there fails here.
CHECKS = (
    "builders",
    "reference_agreement",
    "fused_layers",
    "fused_stack_layers",
    "zoo_presets",
    "describe",
    "lint_and_fix_live_models",
    "short_fit",
    "lint_callback",
    "plot_stack",
    "depth_sweep",
    "saved_model_export_refuses_clearly",
    "onnx_export",
    "data_parallel",
)


def test_the_checks_ran_on_jax(backend_checks):
    assert backend_checks["backend"] == "jax"
    assert tuple(backend_checks["checks"]) == CHECKS


@pytest.mark.parametrize("name", CHECKS)
def test_on_jax(backend_checks, name):
    result = backend_checks["checks"][name]
    assert result["ok"], f"{name} failed on JAX:\n{result['error']}"


def test_builder_models_agree_with_the_reference_to_1e5_on_jax(backend_checks):
    differences = backend_checks["checks"]["reference_agreement"]["detail"]
    assert set(differences) == {"deep_lstm", "deep_gru", "deep_simple_rnn", "bidirectional_mixed", "tokens_tagger"}
    assert max(differences.values()) < 1e-5


def test_fused_stack_models_saved_under_tensorflow_predict_the_same_on_jax(backend_checks):
    differences = backend_checks["checks"]["fused_stack_layers"]["detail"]
    assert set(differences) == {"lstm", "lstm_reference", "gru", "gru_reference"}
    assert max(differences.values()) < 1e-5


def test_every_zoo_preset_builds_on_jax(backend_checks):
    from stacked_keras.zoo import PRESETS

    assert set(backend_checks["checks"]["zoo_presets"]["detail"]) == set(PRESETS)


def test_data_parallel_on_two_devices_gives_the_one_device_loss(backend_checks):
    """docs/scaling.md's keras.distribution.DataParallel example, on two host devices."""
    detail = backend_checks["checks"]["data_parallel"]["detail"]
    assert len(detail["devices"]) == 2
    assert detail["two_devices"] == pytest.approx(detail["one_device"], rel=1e-4)
