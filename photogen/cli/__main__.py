"""`python -m photogen.cli`: the same as the `photogen` command."""

from photogen.cli.app import main

main()
