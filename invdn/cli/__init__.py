"""The `invdn` command line: one module per subcommand."""
