#!/usr/bin/env python
"""Same as the ``jiayuan`` console command."""

from jiayuan.cli import main

if __name__ == "__main__":
    main()
