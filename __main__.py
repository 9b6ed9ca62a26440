"""delivery-platform: one stack of the container delivery platform (see README.md)."""

from components.program import main

main()
