"""The package's version, in a module of its own so that the HTTP layer can name it in its
User-Agent without importing the package (which imports the HTTP layer)."""
__version__ = "0.1.0"
