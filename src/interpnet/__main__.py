"""``python -m interpnet`` = the ``interpnet`` command."""

import sys

from interpnet.cli.main import main

sys.exit(main())
