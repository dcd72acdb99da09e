"""edgebot: an offline chatbot for websites."""

__version__ = "0.1.0"
