"""``python -m timesteps`` runs the command-line tool."""

from .cli import main

main()
