"""One module per `uec-vlm` subcommand (HELP, add_arguments, run). Heavy imports stay inside run()."""
