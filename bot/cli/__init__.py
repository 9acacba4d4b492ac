"""`isafbot`: the command line (`main`), and one module per feature's subcommands."""
