from sml_cli.cli import main

main()
