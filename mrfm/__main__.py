"""``python -m mrfm ...``: the same as the ``mrfm`` command."""

from mrfm.cli.main import main

raise SystemExit(main())
