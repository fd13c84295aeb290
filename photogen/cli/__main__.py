"""`python -m photogen.cli`: the same as the `photogen` command."""

from photogen.cli.app import main

if __name__ == "__main__":
    main()
