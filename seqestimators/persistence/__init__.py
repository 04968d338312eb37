"""Model files as data: safetensors weights plus a JSON description."""

from ._archive import FORMAT_VERSION, SUPPORTED, load, save
from ._errors import ModelFileError

__all__ = ["FORMAT_VERSION", "SUPPORTED", "ModelFileError", "load", "save"]
