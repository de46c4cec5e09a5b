import sys

from execution.executor.cli import main

sys.exit(main())
