"""Command-line tools for delivering the infrastructure itself (CI helpers). Standard
library only, so they run on any CI agent with the repository's Python."""
