"""Semi-supervised adversarial separator training as one ``keras.Model`` (after Keras' WGAN-GP example).

``train_step`` runs ``n_critic`` WGAN-GP updates of each source's critic on unpaired data, then
one separator update on ``L_s + alpha * L_u + beta * L_add`` (Stoller et al. 2018, Eq. 1-3).
With ``semi_supervised=False`` it is the supervised baseline (``L_s`` only).
"""
from typing import Dict, Optional, Sequence

import keras
import tensorflow as tf

from Models.layers import centre_crop
from Models.losses import additive_loss, adversarial_loss, gradient_penalty, supervised_loss

Batch = Dict[str, tf.Tensor]


class AdversarialSeparation(keras.Model):
    """Owns the separator and one critic per source.

    Args:
        separator: model from log1p mixture ``(batch, F_in, T_in, 1)`` to ``{source: (batch, F_out, T_out, 1)}``.
        critics: one critic per source, ``(batch, F_c, T_c, 1) -> (batch, 1)``; empty for supervised training.
        sources: source names, in the order of the outputs.
        critic_shape: ``(F_c, T_c)``, the centre crop of an estimate that a critic sees.
        semi_supervised: add the unpaired terms and train the critics.
        alpha: weight of the adversarial term L_u.
        beta: weight of the additive term L_add.
        gp_lambda: weight of the gradient penalty.
        n_critic: critic updates per separator update.
        one_sided_penalty: the authors' one-sided gradient penalty, else two-sided.
        seed: fixes the gradient penalty's random points, with the critic's update count.

    Data for ``train_step``: ``{"sup": paired, "unsup": unpaired}``; ``paired`` maps ``"mixture"``
    to ``(batch, F_in, T_in, 1)`` and each source to ``(batch, F_out, T_out, 1)``; ``unpaired`` has the
    same keys with a leading axis of ``n_critic + 1`` independent batches (all log1p magnitudes).
    """

    def __init__(self, separator: keras.Model, critics: Dict[str, keras.Model], sources: Sequence[str],
                 critic_shape: Sequence[int], semi_supervised: bool, alpha: float, beta: float, gp_lambda: float,
                 n_critic: int, one_sided_penalty: bool, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.separator = separator
        self.critics = dict(critics)
        self.sources = list(sources)
        self.critic_shape = tuple(critic_shape)
        self.semi_supervised = bool(semi_supervised)
        self.alpha, self.beta, self.gp_lambda = float(alpha), float(beta), float(gp_lambda)
        self.n_critic = int(n_critic)
        self.one_sided_penalty = bool(one_sided_penalty)
        self.seed = int(seed)
        if self.semi_supervised and set(self.critics) != set(self.sources):
            raise ValueError(f"semi-supervised training needs one critic per source {self.sources}, "
                             f"got {sorted(self.critics)}")
        names = ["loss", "sup_loss"]
        if self.semi_supervised:
            names += ["unsup_loss", "adversarial_loss", "additive_loss"]
            for source in self.sources:
                names += [f"{source}_critic_loss", f"{source}_wasserstein", f"{source}_gradient_penalty"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        # Validation also tracks each source's largest estimate: 0 means a dead output head (all-zero ReLU).
        self.estimate_peaks = {source: keras.metrics.Mean(name=f"{source}_estimate_peak") for source in self.sources}
        self.built = True  # its networks are built; Keras must not trace this wrapper with a training batch

    def compile(self, separator_optimizer: keras.optimizers.Optimizer,
                critic_optimizers: Optional[Dict[str, keras.optimizers.Optimizer]] = None, **kwargs):
        """Sets the separator's optimizer and one optimizer per critic, and builds their slots."""
        super().compile(optimizer=separator_optimizer, **kwargs)
        self.critic_optimizers = dict(critic_optimizers or {})
        separator_optimizer.build(self.separator.trainable_variables)
        for source, optimizer in self.critic_optimizers.items():
            optimizer.build(self.critics[source].trainable_variables)

    @property
    def metrics(self):
        return [*self.trackers.values(), *self.estimate_peaks.values()]

    def call(self, mixture, training=False):
        return self.separator(mixture, training=training)

    def _replica_scale(self) -> float:
        # Gradients are summed over replicas, so each replica's loss is divided by their number.
        return 1.0 / tf.distribute.get_strategy().num_replicas_in_sync

    def _critic_input(self, spectrogram: tf.Tensor) -> tf.Tensor:
        return centre_crop(spectrogram, *self.critic_shape)

    def _mixture_at_output(self, mixture: tf.Tensor) -> tf.Tensor:
        output = self.separator.output[self.sources[0]].shape
        return centre_crop(mixture, output[1], output[2])

    def _penalty_seed(self, source: str) -> tf.Tensor:
        # The run's seed and the critic's update count, folded with the source and the replica: the
        # penalty's random points repeat exactly in a rerun or a resumed run (the counts are checkpointed
        # with the optimizers), whatever other random ops the program holds.
        replica = tf.distribute.get_replica_context()
        replica_id = replica.replica_id_in_sync_group if replica is not None else 0
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.critic_optimizers[source].iterations, tf.int64)])
        seed = tf.random.experimental.stateless_fold_in(seed, self.sources.index(source))
        return tf.random.experimental.stateless_fold_in(seed, replica_id)

    def critic_step(self, source: str, real: tf.Tensor, fake: tf.Tensor) -> Dict[str, tf.Tensor]:
        """One WGAN-GP update of ``source``'s critic; returns its loss, Wasserstein estimate and penalty."""
        critic, optimizer = self.critics[source], self.critic_optimizers[source]
        real, fake = self._critic_input(real), self._critic_input(fake)
        with tf.GradientTape() as tape:
            wasserstein = tf.reduce_mean(critic(real, training=True)) - tf.reduce_mean(critic(fake, training=True))
            penalty = gradient_penalty(critic, real, fake, self._penalty_seed(source), self.one_sided_penalty)
            loss = -wasserstein + self.gp_lambda * penalty
            scaled = optimizer.scale_loss(loss * self._replica_scale())
        gradients = tape.gradient(scaled, critic.trainable_variables)
        optimizer.apply(gradients, critic.trainable_variables)
        return {f"{source}_critic_loss": loss, f"{source}_wasserstein": wasserstein,
                f"{source}_gradient_penalty": penalty}

    def separator_losses(self, paired: Batch, unpaired_mixture: Optional[tf.Tensor] = None,
                         training: bool = True) -> Dict[str, tf.Tensor]:
        """``L_s`` on a paired batch and, with an unpaired mixture batch, ``L_u``, ``L_add`` and the total."""
        estimates = self.separator(paired["mixture"], training=training)
        losses = {"sup_loss": supervised_loss(estimates, paired, self.sources)}
        losses["loss"] = losses["sup_loss"]
        if self.semi_supervised and unpaired_mixture is not None:
            estimates_u = self.separator(unpaired_mixture, training=training)
            scores = [self.critics[s](self._critic_input(estimates_u[s]), training=False) for s in self.sources]
            losses["adversarial_loss"] = adversarial_loss(scores)
            losses["additive_loss"] = additive_loss(self._mixture_at_output(unpaired_mixture), estimates_u,
                                                    self.sources)
            losses["unsup_loss"] = self.alpha * losses["adversarial_loss"] + self.beta * losses["additive_loss"]
            losses["loss"] = losses["sup_loss"] + losses["unsup_loss"]
        return losses

    def separator_step(self, paired: Batch, unpaired_mixture: Optional[tf.Tensor] = None) -> Dict[str, tf.Tensor]:
        """One update of the separator on :meth:`separator_losses`' total; returns those losses."""
        with tf.GradientTape() as tape:
            losses = self.separator_losses(paired, unpaired_mixture)
            scaled = self.optimizer.scale_loss(losses["loss"] * self._replica_scale())
        gradients = tape.gradient(scaled, self.separator.trainable_variables)
        self.optimizer.apply(gradients, self.separator.trainable_variables)
        return losses

    def train_step(self, data):
        paired = data["sup"]
        unpaired = data.get("unsup") if self.semi_supervised else None
        logs = {}
        if unpaired is not None:
            for iteration in range(self.n_critic):
                fakes = self.separator(unpaired["mixture"][iteration], training=False)
                for source in self.sources:
                    logs.update(self.critic_step(source, unpaired[source][iteration],
                                                 tf.stop_gradient(fakes[source])))
        logs.update(self.separator_step(paired, None if unpaired is None else unpaired["mixture"][-1]))
        return self._update_trackers(logs)

    @tf.function
    def term_diagnostics(self, data: Dict[str, Batch]) -> Dict[str, tf.Tensor]:
        """What each term of the separator's loss does to its weights, on one training batch, without an update.

        The gradient of the loss is the sum of its terms' gradients. Returns ``grad_norm_{sup,adversarial,
        additive}``, the global gradient norms of L_s, alpha L_u and beta L_add, and ``grad_cos_{adversarial,
        additive}_sup``, the cosine of each unpaired term's gradient with L_s's (negative: it pulls against L_s).
        """
        variables = self.separator.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            losses = self.separator_losses(data["sup"], data["unsup"]["mixture"][-1])
            terms = {"sup": losses["sup_loss"], "adversarial": self.alpha * losses["adversarial_loss"],
                     "additive": self.beta * losses["additive_loss"]}
        flat = {name: tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(term, variables)], axis=0)
                for name, term in terms.items()}
        del tape
        norms = {name: tf.norm(vector) for name, vector in flat.items()}
        logs = {f"grad_norm_{name}": norm for name, norm in norms.items()}
        for name in ("adversarial", "additive"):
            logs[f"grad_cos_{name}_sup"] = tf.reduce_sum(flat[name] * flat["sup"]) / (norms[name] * norms["sup"] + 1e-30)
        return logs

    def test_step(self, data):
        paired = data["sup"] if "sup" in data else data
        estimates = self.separator(paired["mixture"], training=False)
        self.trackers["sup_loss"].update_state(supervised_loss(estimates, paired, self.sources))
        for source in self.sources:
            self.estimate_peaks[source].update_state(tf.reduce_max(estimates[source]))
        return self._for_reduction({"sup_loss": self.trackers["sup_loss"].result(),
                                    **{f"{source}_estimate_peak": self.estimate_peaks[source].result()
                                       for source in self.sources}})

    def _update_trackers(self, logs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return self._for_reduction({name: tracker.result() for name, tracker in self.trackers.items()})

    @staticmethod
    def _for_reduction(logs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """The step's logs as Keras can average them over workers: with MultiWorkerMirroredStrategy it averages
        along axis 0 (keras/src/backend/tensorflow/trainer.py, ``reduce_per_replica``), which scalars lack."""
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            return {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras traces a first batch to build the model whenever a strategy is set; its networks are built
        # already, and under MultiWorkerMirroredStrategy that trace fails (it averages the batch's per-replica
        # values, keras/src/backend/tensorflow/trainer.py). Nothing is left to build.
        return None
