"""``python -m noise2x``: the command line."""

from noise2x.cli import main

if __name__ == "__main__":
    main()
