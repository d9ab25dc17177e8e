import sys

from leadflow.cli import main

sys.exit(main(["serve", "ai"]))
