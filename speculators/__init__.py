"Convert speculative-decoding draft checkpoints into the Speculators format, and prove the conversion right."
__version__ = "0.1.0"
