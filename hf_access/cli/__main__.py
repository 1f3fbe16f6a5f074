"""``python -m hf_access.cli``: the same as the ``hf-access`` command."""

from . import main

if __name__ == "__main__":
    main()
