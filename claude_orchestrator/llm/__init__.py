"""The LLM layer: the only package that imports anthropic."""
