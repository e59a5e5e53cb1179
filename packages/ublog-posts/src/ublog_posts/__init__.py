"""ublog_posts: a reusable Django app for short posts with images and likes."""

__version__ = "0.1.0"
