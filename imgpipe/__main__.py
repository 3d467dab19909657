from imgpipe.cli import main

main()
