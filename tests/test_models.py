"""The U-Net's geometry, the critic, the gradient penalty and one adversarial training step."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from Models.adversarial import AdversarialSeparation
from Models.critic import build_dcgan_critic
from Models.geometry import unet_geometry
from Models.losses import gradient_penalty
from Models.unet import build_unet
from tests.conftest import tiny_batch

SOURCES = ["accompaniment", "vocals"]


# (levels, desired output) -> (input, output) as the authors' getUnetPadding gives them, worked out by hand:
# the desired size goes down the levels as (x + 2) / 2, is rounded up to an even number, and comes back up as
# 2x - 2 (output) and 2(x + 2) (input, plus 2). E.g. 100 frames, 4 levels: 100 -> 51 -> 26.5 -> 14.25 -> 8.125,
# up to 10; output 18, 34, 66, 130; input 24, 52, 108, 220, + 2 = 222.
AUTHORS_SHAPES = {
    (4, (256, 64)): ((350, 158), (258, 66)),    # the paper's
    (4, (256, 32)): ((350, 126), (258, 34)),
    (3, (256, 64)): ((302, 110), (258, 66)),
    (5, (512, 128)): ((702, 318), (514, 130)),
    (4, (256, 100)): ((350, 222), (258, 130)),
    (2, (128, 16)): ((150, 38), (130, 18)),
}


@pytest.mark.parametrize("levels, shape", list(AUTHORS_SHAPES))
def test_geometry_matches_the_authors(levels, shape):
    geometry = unet_geometry(levels, shape, n_fft=2 * shape[0])
    assert (geometry.input_shape, geometry.output_shape) == AUTHORS_SHAPES[levels, shape]
    network = build_unet(geometry, SOURCES, levels=levels, filters=2, head_init="glorot_uniform")
    outputs = network(np.zeros((1, *geometry.input_shape, 1), np.float32))
    assert all(tuple(o.shape[1:3]) == geometry.output_shape for o in outputs.values())


def test_paper_geometry_and_impossible_sizes():
    geometry = unet_geometry(4, (256, 64), 512)
    assert geometry.input_shape == (350, 158) and geometry.output_shape == (258, 66)
    assert geometry.context_frames == 46 and geometry.input_freq_padding == (46, 47)
    with pytest.raises(ValueError, match="positive"):
        unet_geometry(4, (256, 0), 512)
    with pytest.raises(ValueError, match="levels"):
        unet_geometry(0, (256, 64), 512)
    with pytest.raises(ValueError, match="cannot hold"):
        unet_geometry(4, (64, 64), 512)


def test_windows_tile_a_song_with_the_last_one_at_its_end():
    geometry = unet_geometry(4, (256, 64), 512)  # 66 output frames a window
    assert geometry.window_starts(200) == [0, 66, 132, 134]
    assert geometry.window_starts(198) == [0, 66, 132]
    assert geometry.window_starts(10) == [0]  # shorter than a window: one window, padded


def test_unet_has_the_authors_filters_and_k_heads():
    network = build_unet(unet_geometry(4, (256, 64), 512), ["vocals", "drums", "bass"], levels=4, filters=16,
                         head_init="glorot_uniform")
    widths = [network.get_layer(f"enc_conv{i}").filters for i in range(5)]
    assert widths == [16, 32, 64, 128, 256] and sorted(network.output) == ["bass", "drums", "vocals"]


def test_critic_follows_dcgan_rules():
    critic = build_dcgan_critic((256, 64), 32)
    convs = [layer for layer in critic.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 128, 256, 256, 256]
    assert [tuple(c.strides) for c in convs] == [(2, 2)] * 4 + [(2, 1)] * 2
    assert critic.output.shape == (None, 1)


SEED = tf.constant([7, 3], tf.int64)


def test_gradient_penalty_equals_hand_computation():
    # A linear critic: its gradient is its weight vector everywhere, so the penalty is known in closed form.
    inputs = keras.Input((4, 2, 1))
    dense = keras.layers.Dense(1, use_bias=False)
    critic = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    weights = np.array([[3.0], [0.0], [4.0], [0.0], [0.0], [0.0], [0.0], [0.0]], np.float32)  # norm 5
    dense.set_weights([weights])
    real, fake = tf.random.uniform((6, 4, 2, 1)), tf.random.uniform((6, 4, 2, 1))
    assert np.isclose(gradient_penalty(critic, real, fake, SEED, one_sided=True).numpy(), (5 - 1) ** 2, rtol=1e-5)
    dense.set_weights([weights / 10])  # norm 0.5: one-sided ignores it, two-sided does not
    assert np.isclose(gradient_penalty(critic, real, fake, SEED, one_sided=True).numpy(), 0.0)
    assert np.isclose(gradient_penalty(critic, real, fake, SEED, one_sided=False).numpy(), 0.25, rtol=1e-5)
    dense.set_weights([weights * 0])  # zero gradient: finite value and finite gradient
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, real, fake, SEED, one_sided=False)
    assert np.isclose(penalty.numpy(), 1.0)
    assert all(np.all(np.isfinite(g)) for g in tape.gradient(penalty, critic.trainable_variables))


def test_penalty_points_depend_on_the_seed_alone():
    keras.utils.set_random_seed(0)
    # A non-linear critic, so that the penalty depends on where the points fall.
    inputs = keras.Input((4, 2, 1))
    critic = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(8, activation="tanh")(
        keras.layers.Flatten()(inputs))))
    real, fake = tf.random.uniform((6, 4, 2, 1)), tf.random.uniform((6, 4, 2, 1))
    eager = gradient_penalty(critic, real, fake, SEED, one_sided=False).numpy()

    @tf.function
    def among_other_random_ops():
        noise = tf.random.uniform([3])  # unseeded ops before it would shift a counter-derived seed
        return gradient_penalty(critic, real, fake, SEED, one_sided=False), noise

    # Equal up to float rounding (eager and traced code may order the arithmetic differently).
    assert np.isclose(among_other_random_ops()[0].numpy(), eager, rtol=1e-5, atol=0)
    other = gradient_penalty(critic, real, fake, SEED + 1, one_sided=False).numpy()
    assert not np.isclose(other, eager, rtol=1e-3, atol=0)


def tiny_model(semi_supervised=True, alpha=0.001, beta=0.001, sources=SOURCES, seed=0):
    keras.utils.set_random_seed(seed)
    geometry = unet_geometry(2, (32, 8), 64)
    separator = build_unet(geometry, sources, levels=2, filters=4, head_init="glorot_uniform")
    critics = {s: build_dcgan_critic(geometry.critic_shape, 4, name=f"{s}_critic") for s in sources}
    model = AdversarialSeparation(separator, critics if semi_supervised else {}, sources, geometry.critic_shape,
                                  semi_supervised=semi_supervised, alpha=alpha, beta=beta, gp_lambda=10.0, n_critic=2,
                                  one_sided_penalty=True)
    model.compile(keras.optimizers.Adam(1e-3), {s: keras.optimizers.Adam(1e-3) for s in (critics if semi_supervised else {})})
    return model, geometry


def test_one_train_step_gives_finite_losses_and_moves_every_network():
    model, geometry = tiny_model()
    data = tiny_batch(geometry)
    before = {name: [w.copy() for w in net.get_weights()]
              for name, net in [("separator", model.separator), *model.critics.items()]}
    logs = model.train_step(data)
    names = {"loss", "sup_loss", "unsup_loss", "adversarial_loss", "additive_loss", "vocals_wasserstein",
             "accompaniment_gradient_penalty", "vocals_critic_loss"}
    assert names <= set(logs) and all(np.isfinite(float(v)) for v in logs.values())
    for name, net in [("separator", model.separator), *model.critics.items()]:
        assert any(not np.allclose(a, b) for a, b in zip(before[name], net.get_weights())), name
    assert int(model.optimizer.iterations.numpy()) == 1
    assert all(int(o.iterations.numpy()) == 2 for o in model.critic_optimizers.values())


def test_semi_supervised_step_with_zero_weights_equals_supervised_step():
    semi, geometry = tiny_model(True, alpha=0.0, beta=0.0)
    sup, _ = tiny_model(False)
    sup.separator.set_weights(semi.separator.get_weights())
    data = tiny_batch(geometry)
    semi.train_step(data)
    sup.train_step({"sup": data["sup"]})
    for a, b in zip(semi.separator.get_weights(), sup.separator.get_weights()):
        assert np.allclose(a, b, atol=1e-6)


def test_three_sources_train():
    sources = ["vocals", "drums", "rest"]
    model, geometry = tiny_model(sources=sources)
    logs = model.train_step(tiny_batch(geometry, sources))
    assert {"drums_wasserstein", "rest_gradient_penalty"} <= set(logs)
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_mixed_precision_switch_trains_in_float16(tmp_path):
    from tests.conftest import run_script
    code = """
import numpy as np
from Config import resolve
from Models.build import build_training_model
from tests.conftest import tiny_batch
config = resolve(["cfg.semi_sup", "cfg.demo"], {"unet_levels": 2, "unet_filters": 4, "critic_filters": 4,
                  "output_frames": 16, "n_critic": 2, "mixed_precision": True})
model, geometry = build_training_model(config)
logs = model.train_step(tiny_batch(geometry, n_critic=2))
assert all(np.isfinite(float(v)) for v in logs.values()), logs
print(model.separator.get_layer("enc_conv0").compute_dtype, type(model.optimizer).__name__)
"""
    result = run_script(["-c", code], cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["float16", "LossScaleOptimizer"]


def test_non_negative_heads_start_positive_and_the_saved_separator_loads(tmp_path):
    from Config import resolve
    from Models.build import build_separator, load_separator_weights, save_separator
    config = resolve(["cfg.demo"], {"head_init": "non_negative"})
    separator, _ = build_separator(config)
    for source in config["sources"]:
        kernel = separator.get_layer(source).get_weights()[0]
        assert kernel.min() >= 0 and kernel.max() > 0
    save_separator(separator, config, str(tmp_path / "model.keras"))
    loaded = load_separator_weights(str(tmp_path / "model.keras"))
    assert all(np.array_equal(a, b) for a, b in zip(separator.get_weights(), loaded.get_weights()))


def test_term_diagnostics_measure_each_term_and_change_nothing():
    model, geometry = tiny_model(alpha=0.0)
    data = tiny_batch(geometry)
    before = [w.copy() for w in model.separator.get_weights()]
    logs = {name: float(value) for name, value in model.term_diagnostics(data).items()}
    assert set(logs) == {"grad_norm_sup", "grad_norm_adversarial", "grad_norm_additive", "grad_cos_adversarial_sup",
                         "grad_cos_additive_sup"}
    assert logs["grad_norm_sup"] > 0 and logs["grad_norm_additive"] > 0 and logs["grad_norm_adversarial"] == 0
    assert -1.0 <= logs["grad_cos_additive_sup"] <= 1.0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.separator.get_weights()))
