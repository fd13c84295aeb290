"""photogen: a private, on-device studio for personalized images from your own photos."""

__version__ = "0.1.0"
