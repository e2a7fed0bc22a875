from insider.cli import main

main()
