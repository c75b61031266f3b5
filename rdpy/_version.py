"""rdpy's own version, kept in one place for the package metadata and version()."""

__version__ = "0.1.0"
