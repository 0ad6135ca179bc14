"""The whole configuration: one Sacred ingredient ``cfg``, a complete base and named configs.

    python Training.py with cfg.semi_sup              # the paper's method
    python Training.py with cfg.sup                   # the supervised baseline
    python Training.py with cfg.semi_sup cfg.demo cfg.batch_size=16

Defaults are the authors' (f90/AdversarialAudioSeparation: Training.py, Test.py, Input/) unless a
comment says otherwise; every known difference is marked "authors:". Named configs only override
what differs from the base; ``cfg.paper`` is the paper's experiment as published (datasets, partition,
evaluation).
"""
import sys

from sacred import Ingredient

from Input.datasets import check_datasets
from Models import check_architecture
from Models.full_band import DEFAULT_BAND_EXTENSION
from Runs.cluster import CLUSTERS
from Utils.config_check import ConfigError, check_config, did_you_mean

cfg = Ingredient("cfg")

# The valid values of the settings that take one of a few (the base config's comments say what each means).
# The datasets', the separator's and the band extension's are beside their code (Input.datasets, Models).
CHOICES = {
    "partition_order": ("shuffled", "file", "authors"),
    "stream_source": ("auto", "memory", "files"),
    "eval_protocol": ("sisec", "paper"),
    "distribute": ("none", "mirrored", "multi_worker"),
    "cluster": CLUSTERS,
}


@cfg.config
def base():
    # ---- Sources: one U-Net head and one critic each. K > 2 works (see cfg.musdb_4stems).
    sources = ["accompaniment", "vocals"]        # authors' order: accompaniment, voice

    # ---- Data. Multitrack datasets by name: type is musdb, dsd100, ccmixter, medleydb or ikala (Input/datasets/);
    # root None = not used.
    datasets = {
        "musdb": {"type": "musdb", "root": "data/musdb18", "is_wav": False},  # MUSDB18 (.stem.mp4); HQ: is_wav=True
        "ccmixter": {"type": "ccmixter", "root": "data/ccmixter", "unpaired": True},
        "dsd100": {"type": "dsd100", "root": None},       # the paper's datasets (cfg.paper)
        "medleydb": {"type": "medleydb", "root": None, "vocals": "singers"},  # 'authors': their list's stems
        "ikala": {"type": "ikala", "root": None},
        # The demo corpus's shifted families in CCMixter's layout (python -m Input.demo.corpus --families), for
        # bench.studies.generality: a root there holds the family's songs out for validation and test.
        "timbre": {"type": "ccmixter", "root": None, "unpaired": False},
        "register": {"type": "ccmixter", "root": None, "unpaired": False},
    }
    supervised_dataset = "musdb"   # its train split is train_sup; its test split halves into valid and test (paper: DSD100)
    # Every other multitrack dataset is cut in thirds: unpaired training, validation, test (paper, Sec. 3.1);
    # "unpaired": False leaves that first third unused, a number between 0 and 1 uses that share of it.
    # Extra unpaired collections: [stream, folder or .txt/.csv list] pairs; stream is 'mixture' or a source.
    unpaired_collections = []
    partition_order = "shuffled"   # shuffled by partition_seed before the cuts; 'file'; 'authors': their lists (cfg.paper)
    partition_seed = 1             # shuffles songs before cutting datasets into parts
    train_sup_songs = 0            # 0: every paired training song; N: only N of them (scarce-label experiments)
    index_cache = True             # cache per-file duration/rate/channels as JSON beside the data
    resampled_cache = None         # a folder: training reads each role once resampled there (mono, sample_rate)

    # ---- Audio and spectrogram (authors' code)
    sample_rate = 8192             # expected_sr; resampled by soxr (authors: librosa's resampy)
    mono = True                    # mono_downmix
    n_fft = 512                    # num_fft; the STFT pads the edges with zeros (authors: librosa, by reflection)
    hop = 256                      # num_hop

    # ---- Separator and critics, looked up by name (Models/__init__.py)
    separator = "unet"
    unet_levels = 4                # num_layers: filters 16, 32, 64, 128, 256
    unet_filters = 16
    head_init = "glorot_uniform"   # initial kernels of the ReLU output heads: authors'; 'non_negative' (cfg.demo)
    output_frames = 64             # num_frames: desired output / critic width in STFT frames
    critic = "dcgan"
    critic_filters = 32

    # ---- Optimisation (paper Sec. 3.2 and authors' code)
    semi_supervised = True
    batch_size = 64
    separator_lr = 5e-5            # init_sup_sep_lr / init_unsup_sep_lr (Adam; its epsilon is Keras' 1e-7, authors: 1e-8)
    critic_lr = 5e-5               # init_disc_lr (Adam)
    alpha = 0.001                  # weight of the adversarial loss L_u (paper Sec. 3.2; authors' final Training.py, 64ec613)
    beta = 0.001                   # weight of the additive loss L_add (the same; earlier versions of theirs had 0.01)
    gp_lambda = 10.0               # lam: WGAN-GP weight
    one_sided_penalty = True       # authors: max(||g|| - 1, 0)^2; False: (||g|| - 1)^2
    n_critic = 5                   # num_disc: critic updates per separator update
    epoch_it = 1000                # separator steps per epoch (paper; authors' final Training.py, 64ec613)
    patience = 1                   # authors stop at the first epoch whose validation loss is worse
    max_epochs = 0                 # 0: until early stopping
    checkpoint_every = 100         # separator steps between resumable checkpoints (and at every epoch end)

    # ---- Excerpt streams (authors' multistream cache)
    cache_size = 64                # excerpts held per stream
    min_replacement_rate = 8       # excerpts replaced per batch, on average at least
    excerpt_duration = 10.0        # seconds per cached excerpt, without context
    amplify_range = [0.2, 1.2]     # random gain of unpaired excerpts
    sample_by_duration = True      # draw files in proportion to their length (authors: uniformly, False)
    read_workers = 4               # parallel excerpt readers per stream (authors: num_workers)
    stream_source = "auto"         # ours: 'memory' (spectrograms in RAM, excerpts cut in the tf.data graph),
    #                                'files' (read per excerpt), 'auto': memory if it takes <= 1/4 of the RAM
    data_service = None            # 'grpc://host:port': a tf.data service dispatcher whose workers run the
    #                                streams (memory streams only: file streams call Python per excerpt)
    validation_batches = 0         # 0: whole validation partition
    valid_by_dataset = False       # ours: also each dataset's validation loss per epoch, and the best model by it
    #                                (best_separator.<dataset>.keras): selection without target-domain songs

    # ---- Inference and evaluation
    inference_frames = 256         # output frames per separator window (longer recomputes less context)
    litert_export = True           # ours: the best model's LiteRT files written at the end, for Separate.py's
    #                                default engine (False: Separate.py makes them on first use, with TensorFlow)
    band_extension = DEFAULT_BAND_EXTENSION  # 'average': full-band masks on the input's STFT; 'zeros'; 'none':
    #                                  the paper's band-limited estimates, resampled (Models/full_band.py)
    eval_protocol = "sisec"        # 'sisec': museval BSS Eval v4 at the songs' rate; 'paper': the authors' Test.py,
    #                                mir_eval v3 on whole songs, mono at sample_rate (Evaluation/scores.py)
    eval_workers = 2               # processes evaluating tracks in parallel

    # ---- Logging and devices
    image_every = 200              # steps between spectrogram images in TensorBoard (0: never)
    diagnostics_every = 10         # steps between the loss terms' gradient norms and cosines, logged as
    #                                train.grad_norm_* and train.grad_cos_* (semi_sup; 0: never)
    distribute = "none"            # 'none'; 'mirrored' (MirroredStrategy over this machine's GPUs); 'multi_worker'
    #                                (MultiWorkerMirroredStrategy: batch_size is split across the workers)
    cluster = "tf_config"          # with multi_worker: the cluster from TF_CONFIG, or 'slurm' (under srun)
    cluster_wait = 300             # seconds a multi-worker run waits for all its workers to start
    logical_cpus = 0               # with 'mirrored' and no GPU: split the CPU into this many devices (tests)
    mixed_precision = False        # float16 compute on GPUs
    render_demo_corpus = False     # render the built-in demo corpus into data/demo first


@cfg.named_config
def sup():
    # Supervised baseline: the same separator, L_s only, no unpaired data or critics.
    semi_supervised = False


@cfg.named_config
def semi_sup():
    # The paper's semi-supervised adversarial method: L_s + alpha L_u + beta L_add.
    semi_supervised = True


@cfg.named_config
def demo():
    # The built-in demo corpus and sizes that train in under half an hour on 2 CPU cores (a bench.studies.semi_vs_sup run,
    # 1000 steps and three scorings on 24 songs, took 21 to 25 minutes on the 2-core machine it was measured on).
    # Chosen on the validation songs (never the test songs), 2 paired songs, 1000 steps, best validation
    # loss per run (bench/results/semi_vs_sup_findings.md):
    # - head_init: with the authors' initialisation an output head died (all-zero estimates) in seed 1
    #   at separator_lr 5e-4, 2e-4, 1e-4 and 5e-5 alike; 'non_negative' heads: none died, and sup's
    #   validation loss went from 0.083 (dead accompaniment) to 0.030 for that seed.
    # - alpha: 1e-3 and 1e-4 tie (mean best validation loss 0.0244 and 0.0243 over seeds 1 and 2,
    #   against 0.030 for sup): the paper's 1e-3 is kept. beta stays the paper's 1e-3 (its gradient is
    #   about 1/1000 of L_s's here, see the diagnostics). Learning rates and n_critic were not searched.
    render_demo_corpus = True
    head_init = "non_negative"
    resampled_cache = "data/demo_8k"
    datasets = {
        "musdb": {"type": "musdb", "root": "data/demo/musdb", "is_wav": True},
        "ccmixter": {"type": "ccmixter", "root": "data/demo/ccmixter", "unpaired": True},
    }
    # Every stem's collection: a run uses those of its sources (cfg.musdb_4stems: drums, bass, other too).
    unpaired_collections = [
        ["mixture", "data/demo/mixtures"],
        ["vocals", "data/demo/solo_vocals"],
        ["accompaniment", "data/demo/solo_accompaniment"],
        ["drums", "data/demo/solo_drums"],
        ["bass", "data/demo/solo_bass"],
        ["other", "data/demo/solo_other"],
    ]
    batch_size = 8
    output_frames = 16
    unet_filters = 8
    critic_filters = 16
    n_critic = 2
    separator_lr = 5e-4
    critic_lr = 5e-4
    epoch_it = 250
    max_epochs = 4                 # 1000 steps, as bench.studies.semi_vs_sup
    patience = 2
    checkpoint_every = 50
    cache_size = 16
    min_replacement_rate = 2
    excerpt_duration = 4.0
    read_workers = 2
    stream_source = "files"        # the demo results in bench/README.md were measured with file streams
    image_every = 50
    eval_workers = 2


@cfg.named_config
def paper():
    # The paper's experiment as the authors ran it (Sec. 3.1 and their final Training.py): DSD100's Dev songs are
    # the paired training set, its Test songs in the order of the authors' list are halved into validation and
    # test; MedleyDB and CCMixter in their lists' order, and iKala in file order (no list survives), are each
    # cut in thirds (unpaired training, validation, test); songs the lists do not name are left out. MedleyDB's
    # roles are the stems their list names, with their gain and clipping (Input/datasets/medleydb.py,
    # authors_roles). Set each root:
    #   python Training.py with cfg.semi_sup cfg.paper cfg.datasets.dsd100.root=/data/DSD100 ...
    datasets = {
        "musdb": {"type": "musdb", "root": None},
        "dsd100": {"type": "dsd100", "root": "data/DSD100"},
        "medleydb": {"type": "medleydb", "root": "data/MedleyDB", "vocals": "authors"},
        "ccmixter": {"type": "ccmixter", "root": "data/ccmixter"},
        "ikala": {"type": "ikala", "root": "data/iKala"},
    }
    supervised_dataset = "dsd100"
    unpaired_collections = []
    partition_order = "authors"
    sample_by_duration = False     # authors: files drawn uniformly
    stream_source = "auto"         # memory where it fits: the file streams cannot feed a GPU at these settings
    resampled_cache = "data/paper_8k"  # ours: each role resampled once (about 1.2 GB per 10 hours)
    eval_protocol = "paper"


@cfg.named_config
def musdb_hq():
    # MUSDB18-HQ (wav stems) instead of the .stem.mp4 release.
    datasets = {"musdb": {"type": "musdb", "root": "data/musdb18hq", "is_wav": True}}


@cfg.named_config
def musdb_4stems():
    # Four sources (MUSDB's stems), four heads and four critics.
    sources = ["vocals", "drums", "bass", "other"]
    datasets = {"musdb": {"type": "musdb", "root": "data/musdb18", "is_wav": False},
                "ccmixter": {"type": "ccmixter", "root": None}}  # CCMixter has only voice and accompaniment


# Settings a resumed run must share with the run it continues (the networks' shapes, the data, the streams):
# Training.py refuses a resume that changes one. Every other setting may change and takes effect on resume.
RESUME_FIXED_KEYS = ("sources", "sample_rate", "mono", "n_fft", "hop", "separator", "unet_levels", "unet_filters",
                     "head_init", "output_frames", "critic", "critic_filters", "semi_supervised", "batch_size",
                     "n_critic", "datasets", "supervised_dataset", "unpaired_collections", "partition_order",
                     "partition_seed", "train_sup_songs", "cache_size", "min_replacement_rate", "excerpt_duration",
                     "amplify_range", "sample_by_duration", "stream_source", "resampled_cache")


@cfg.config_hook
def reject_invalid_values(config, command_name, logger):
    """Stops any command with one line naming the key and a valid value when the config is invalid."""
    try:
        check_config(config["cfg"], CHOICES, base())
        check_datasets(config["cfg"])
        check_architecture(config["cfg"])
    except ConfigError as error:
        stop_with_config_error(str(error))
    return {}


def stop_with_config_error(error: str) -> None:
    """Ends a command before it runs with the one line ``Config error: <error>`` and exit status 2."""
    print(f"Config error: {error}", file=sys.stderr)
    raise SystemExit(2)


def reject_unknown_options(experiment, script: str) -> None:
    """Makes ``experiment`` (the command ``script``) stop with one line naming an option it lacks
    (``evalute=False``) and the closest it has, before Sacred's ConfigAddedError (the cfg ingredient's own keys
    are checked by ``check_config``)."""
    @experiment.config_hook
    def _reject_unknown(config, command_name, logger):
        known = {"cfg", "seed"} | {key for scope in experiment.configurations for key in scope()}
        unknown = sorted(set(config) - known)
        if unknown:
            stop_with_config_error(f"{unknown[0]} is not an option of {script} ({did_you_mean(unknown[0], known)}"
                                   f"its options: {', '.join(sorted(known - {'cfg'}))}; the model's settings are "
                                   f"cfg.<key>)")
        return {}


def reject_invalid_seed(argv) -> None:
    """Stops with one line when the command line's ``seed=`` is not one Sacred can use (it fails with a
    traceback on a negative or non-integer seed before any config hook runs)."""
    for argument in argv:
        if argument.startswith("seed="):
            value = argument[len("seed="):]
            if not (value.isdigit() and int(value) < 2 ** 32):
                stop_with_config_error(f"seed={value} is invalid: must be a whole number from 0 to {2 ** 32 - 1} "
                                       f"(e.g. seed=1)")


def resolve(named_configs=(), updates=None) -> dict:
    """The ``cfg`` dict a run would see, e.g. ``resolve(["cfg.demo"], {"batch_size": 4})`` (benchmarks, notebooks)."""
    from sacred import Experiment
    experiment = Experiment("resolve_config", ingredients=[cfg])

    @experiment.main
    def _config(cfg):
        return dict(cfg)

    run = experiment.run(named_configs=list(named_configs), config_updates={"cfg": dict(updates)} if updates else {},
                         options={"--loglevel": "ERROR"})
    return run.result
