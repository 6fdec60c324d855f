from paperroute.cli import main

main()
