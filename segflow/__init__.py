"""segflow: declarative customer segmentation for e-commerce, managed as code."""

__version__ = "0.1.0"
