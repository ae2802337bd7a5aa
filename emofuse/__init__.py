"""emofuse: multimodal (image + text) emotion datasets from social media, and a fusion benchmark."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("emofuse")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
