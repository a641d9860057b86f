"""``python -m phonomag.cli``: the command line."""

from phonomag.cli.main import main

main()
