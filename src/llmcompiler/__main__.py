import sys

from llmcompiler.cli import main

sys.exit(main())
