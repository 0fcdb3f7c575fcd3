from probatio.cli import main

main()
