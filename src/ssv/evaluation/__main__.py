import sys

from ssv.evaluation.cli import main

sys.exit(main())
