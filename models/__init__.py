"""The six models of the paper (section 4, Table 3) as plain torch modules. Imports only torch."""

from emofuse.models.config import PAPER_DEFAULTS, defaults_for
from emofuse.models.fusion import (
    MODEL_ARGUMENTS,
    MODELS,
    CommonSpace,
    EarlyFusion,
    FusionModel,
    ImageOnly,
    JointFusion,
    LateFusion,
    TextInput,
    TextOnly,
    common_space_aux_loss,
)

__all__ = [
    "MODELS",
    "MODEL_ARGUMENTS",
    "PAPER_DEFAULTS",
    "CommonSpace",
    "EarlyFusion",
    "FusionModel",
    "ImageOnly",
    "JointFusion",
    "LateFusion",
    "TextInput",
    "TextOnly",
    "common_space_aux_loss",
    "defaults_for",
]
