"""LOUPE's run inside benchopt: learn the mask with the network, fix it,
fine-tune the network on it, and have the objective re-measure the test
split with it.

`LoupeRun(joint, train, test, finetune_epochs)`:

1. joint training (lifecycle.Training of a LoupeModel on the fully sampled
   training slices, loupe.FullySampled, step loupe.loupe_step): `n_epochs`
   epochs, checkpointed like every learned model (weights and logits);
2. the mask: per width, the ACS block and the most probable other columns
   up to the budget (LoupeModel.mask_columns), as a data.acquisition.
   ProposedMask of kind "learned";
3. fine-tuning (a second Training, of the network alone, started from the
   joint weights, on the training split measured with that fixed mask, the
   default step): `finetune_epochs` epochs, its checkpoint keyed by the
   sha256 of the weights it starts from and the mask (the split's
   fingerprint);
4. every benchopt point (before training, after each epoch of both phases)
   re-measures the test split with the mask of that moment
   (`test.remeasure`, data/acquisition.py: the objective measures, within
   the dataset's budget) and reconstructs it (run.LearnedRun), so the curve
   shows the pair (mask, network) as it learns.

`result()` adds to LearnedRun's: the training measurements of both phases
(time summed, peak memory the larger, epochs summed, reused_checkpoint 1
only when both were reused), `learned_columns` (sampled columns of the
mask, mean over widths) and two text records the result file keeps with the
saved results: `learned_mask` ("W:" then one 0 / 1 per column) and
`sampling_probabilities` (the rescaled probabilities, 3 decimals), per
width.
"""

import copy
from dataclasses import replace

from ..data.acquisition import ProposedMask
from ..data.coil_maps import CoilMaps
from ..data.split import Split
from .lifecycle import Inference, Outcome, Training
from .loupe import LoupeModel, network_sha256
from .models import check_test_iterations
from .run import LearnedRun


class LoupeRun:
    """LOUPE's benchopt life (module doc).

    Args:
        joint: the joint training (a Training of a LoupeModel on a
            loupe.FullySampled split).
        train: the training split (measured; its source is re-measured with
            the learned mask for fine-tuning).
        test: the test split the objective hands (it has `remeasure`).
        finetune_epochs: epochs of fine-tuning on the fixed mask (0: none).
        inference: test-time options of the network (lifecycle.Inference).
    """

    def __init__(self, joint: Training, train: Split, test: Split,
                 finetune_epochs: int = 2, inference: Inference | None = None):
        if not isinstance(joint.model, LoupeModel):
            raise TypeError("LoupeRun trains a LoupeModel (learned.loupe).")
        if not (isinstance(finetune_epochs, int) and finetune_epochs >= 0):
            raise ValueError(f"{joint.name}: finetune_epochs must be an integer >= 0 "
                             f"(got {finetune_epochs!r}).")
        self.joint, self.train, self.test = joint, train, test
        self.finetune_epochs = finetune_epochs
        self.finetune: Training | None = None
        self._fixed = None  # (mask, re-measured test split) once fine-tuning starts
        self.name = joint.name
        self.inference = Inference() if inference is None else inference
        check_test_iterations(self.name, self.inference.iterations, joint.model)

    @property
    def model(self) -> LoupeModel:
        return self.joint.model

    @property
    def training(self) -> Training:
        """The training whose network the next point evaluates."""
        return self.finetune or self.joint

    def proposal(self) -> ProposedMask:
        """The learned mask now (per width)."""
        return ProposedMask({w: self.model.mask_columns(w).numpy()
                             for w in self.model.config.widths}, kind="learned")

    def run(self, callback):
        outcome = self.joint.run(before=callback, after_epoch=lambda _: callback())
        if outcome in (Outcome.STOPPED, Outcome.DIVERGED):
            if outcome is Outcome.DIVERGED:
                callback()  # the diverged point
            return
        if not self.finetune_epochs:
            if outcome is Outcome.REUSED:
                callback()
            return
        self.finetune = self._finetune_training()
        outcome = self.finetune.run(after_epoch=lambda _: callback())
        if outcome in (Outcome.REUSED, Outcome.DIVERGED):
            callback()

    def _finetune_training(self) -> Training:
        """The network alone, from the joint weights, on the training split
        measured with the fixed learned mask."""
        joint, network = self.joint, self.model.network
        measured = Split(self.train.source, self.proposal(), True, CoilMaps("acs"))
        settings = replace(joint.settings, n_epochs=self.finetune_epochs,
                           init_sha256=network_sha256(self.model))
        cache = None if joint.cache is None else joint.cache.root
        return Training(self.name, self.model.config.network, measured,
                        settings, build=lambda _: copy.deepcopy(network),
                        device=joint.device.type, smaps=joint.smaps, cache_dir=cache,
                        log=joint.log)

    def _measured_now(self):
        """The mask now and the test split re-measured with it: at every point
        while the mask learns; once, then kept, when fine-tuning has fixed it."""
        if self._fixed is not None:
            return self._fixed
        proposal = self.proposal()
        measured = proposal, self.test.remeasure(proposal)
        if self.finetune is not None:
            self._fixed = measured
        return measured

    def result(self) -> dict:
        """The test split re-measured with the mask now, reconstructed by the
        network now (module doc)."""
        proposal, remeasured = self._measured_now()
        result = LearnedRun(self.training, remeasured, self.inference).result()
        result.update(self._training_measurements())
        widths = sorted(proposal.columns)
        result["learned_columns"] = float(sum(proposal.columns[w].sum()
                                              for w in widths) / len(widths))
        result["learned_mask"] = "; ".join(
            f"{w}:" + "".join("1" if c else "0" for c in proposal.columns[w])
            for w in widths)
        result["sampling_probabilities"] = "; ".join(
            f"{w}:" + ",".join(f"{p:.3f}" for p in
                               self.model.probabilities(w).detach().cpu().tolist())
            for w in widths)
        return result

    def _training_measurements(self) -> dict:
        joint = self.joint.measurements()
        if self.finetune is None:
            return joint
        tuned = self.finetune.measurements()
        epochs = joint["train_epochs"] + tuned["train_epochs"]
        seconds = joint["train_time_s"] + tuned["train_time_s"]
        return dict(
            joint,
            train_time_s=seconds,
            train_time_per_epoch_s=seconds / epochs if epochs else float("nan"),
            train_peak_memory_mb=max(joint["train_peak_memory_mb"],
                                     tuned["train_peak_memory_mb"]),
            saved_tensors_mb=max(joint["saved_tensors_mb"], tuned["saved_tensors_mb"]),
            train_loss=tuned["train_loss"], train_epochs=epochs,
            reused_checkpoint=int(joint["reused_checkpoint"]
                                  and tuned["reused_checkpoint"]),
            training_diverged=int(joint["training_diverged"]
                                  or tuned["training_diverged"]),
            finetune_epochs=tuned["train_epochs"],
        )
