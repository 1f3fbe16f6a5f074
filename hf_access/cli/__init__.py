"""The hf-access command line."""


def main() -> None:
    raise SystemExit("the hf-access command is not built yet")
