"""`python -m scripts.bench` (what `make bench` runs); see harness.py for what it does."""

import sys

from .harness import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
