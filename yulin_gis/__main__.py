"""``python -m yulin_gis`` runs the command-line interface."""

from yulin_gis.cli.main import cli

if __name__ == "__main__":
    cli()
