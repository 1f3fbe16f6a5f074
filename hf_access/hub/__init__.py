"""The Hub side of hf-access: access as code (sync) and the inbox of gated repos."""
