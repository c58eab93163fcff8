"""`python -m agendas.rendering FILE --out DIR [--json]` until `phonghop render` is wired."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
